/**
 * Which engines a run covers. `ENGINES=postgres` (or `sqlite`, or `sqlite,postgres`) narrows the
 * suite to those engines' halves, the way kysely's DIALECTS does; unset (or empty) runs both. An
 * unknown name throws, naming the valid ones. No imports: the global setup reads it too.
 */
export const ENGINE_NAMES = ['sqlite', 'postgres'] as const
export type EngineName = (typeof ENGINE_NAMES)[number]

/** The engines that `env.ENGINES` names (default: this process's environment), in ENGINE_NAMES order. */
export function enginesToRun(env: { ENGINES?: string } = process.env): EngineName[] {
  const value = env.ENGINES
  if (value === undefined || value.trim() === '') return [...ENGINE_NAMES]
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '')
  const unknown = names.filter((n) => !(ENGINE_NAMES as readonly string[]).includes(n))
  if (unknown.length > 0 || names.length === 0)
    throw new Error(
      `ENGINES=${JSON.stringify(value)}: ${unknown.length > 0 ? `unknown engine ${unknown.map((n) => `'${n}'`).join(', ')}` : 'no engine named'}; ` +
        `the valid names are ${ENGINE_NAMES.join(', ')} (comma-separated; leave ENGINES unset to run both)`,
    )
  return ENGINE_NAMES.filter((n) => names.includes(n))
}

/** Why `name` is left out of this run by ENGINES, or undefined when it runs. */
export function leftOutByFilter(name: EngineName, env: { ENGINES?: string } = process.env): string | undefined {
  return enginesToRun(env).includes(name) ? undefined : `ENGINES=${env.ENGINES} leaves ${name} out`
}
