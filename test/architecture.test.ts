import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { expect, it } from 'vitest'

/**
 * The import graph of src/ (type-only imports included): no cycles, and every import points down
 * the layers of docs/architecture.md. ESLint (eslint.config.js) refuses a wrong layer as it is
 * typed; this test also finds cycles inside a folder, which no lint rule here sees.
 */

const SRC = resolve(import.meta.dirname, '../src')

/** Lower imports nothing higher; a folder not listed is a mistake the test reports. */
export const LAYERS: Record<string, number> = { core: 0, config: 0, store: 1, engine: 2, jobs: 3, http: 4, doors: 5, app: 6, cli: 7 }

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

/** Relative imports and re-exports of a file, as resolved .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const out: string[] = []
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
    const spec = m[1] ?? m[2]
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
  }
  return out
}

const layerOf = (file: string): string => {
  const rel = relative(SRC, file)
  return rel === 'config.ts' ? 'config' : rel.split('/')[0]
}

const graph = new Map(sourceFiles(SRC).map((f) => [f, importsOf(f)]))

it('every file of src/ belongs to a known layer', () => {
  expect([...new Set([...graph.keys()].map(layerOf))].filter((l) => !(l in LAYERS))).toEqual([])
})

it('imports point down the layers: core ← store ← engine ← jobs ← http ← doors ← app ← cli', () => {
  const wrong: string[] = []
  for (const [file, deps] of graph) {
    const from = layerOf(file)
    for (const dep of deps) {
      const to = layerOf(dep)
      if (to !== from && !(LAYERS[to] < LAYERS[from])) wrong.push(`${relative(SRC, file)} → ${relative(SRC, dep)}`)
    }
  }
  expect(wrong).toEqual([])
})

it("outside the store, only its interface is imported (store/store.ts, store/index.ts), never an engine's internals", () => {
  const PUBLIC = new Set(['store/store.ts', 'store/index.ts'])
  const wrong: string[] = []
  for (const [file, deps] of graph)
    for (const dep of deps)
      if (layerOf(file) !== 'store' && layerOf(dep) === 'store' && !PUBLIC.has(relative(SRC, dep)))
        wrong.push(`${relative(SRC, file)} → ${relative(SRC, dep)}`)
  expect(wrong).toEqual([])
})

it('routes and doors never hold the store: they reach it through the services', () => {
  const wrong: string[] = []
  for (const [file, deps] of graph)
    for (const dep of deps)
      if ((layerOf(file) === 'http' || layerOf(file) === 'doors') && layerOf(dep) === 'store')
        wrong.push(`${relative(SRC, file)} → ${relative(SRC, dep)}`)
  expect(wrong).toEqual([])
})

it('no import cycle, type-only imports included', () => {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (f: string) => {
    state.set(f, 'open')
    stack.push(f)
    for (const d of graph.get(f) ?? []) {
      if (!graph.has(d)) continue
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)).join(' → '))
      else if (!state.has(d)) visit(d)
    }
    stack.pop()
    state.set(f, 'done')
  }
  for (const f of graph.keys()) if (!state.has(f)) visit(f)
  expect(cycles).toEqual([])
})
