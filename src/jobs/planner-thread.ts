/**
 * The import planner's thread (started by planner.ts): reads a job's stored input, parses and
 * maps it, validates every row, reads each batch's users on a connection of its own and plans the
 * batch, then hands the plan to the job's thread, which writes it. Messages: see planner.ts.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { BatchPlanner, type Planned } from '../engine/batch-planner.js'
import { lookupNames, type PreparedRow } from '../engine/plan.js'
import type { PlannedBatchIn } from '../engine/planned-run.js'
import type { BulkStage } from '../engine/types.js'
import { encodeBatch, openReader } from '../store/index.js'
import type { UserLookup } from '../store/store.js'
import { InputError, type InputRow, rawText, readInputChunks } from './input.js'
import type { BatchInputs, FromPlanner, PlannerData, ToPlanner } from './planner.js'

const data = workerData as PlannerData
const port = parentPort!
const post = (m: FromPlanner) => port.postMessage(m)

const store = openReader(data.location)
const planner = new BatchPlanner(data.cmd)

/** A batch planned and not yet committed: what it claims (names and holds), kept to plan it again. */
interface Flight {
  rows: PreparedRow[]
  inputs: InputRow[]
  lookup: UserLookup
  claims: ReadonlySet<string>
}
const flights = new Map<number, Flight>()
/** The last batch the job's thread committed (batches commit in order). */
let committed = -1
let wake: (() => void) | null = null
const until = async (ready: () => boolean): Promise<void> => {
  while (!ready()) await new Promise<void>((resolve) => (wake = resolve))
}

port.on('message', (m: ToPlanner) => {
  if (m.type === 'committed') {
    committed = m.no
    flights.delete(m.no)
    wake?.()
  } else if (m.type === 'replan') void replan(m.no)
  else void store.close().finally(() => port.close())
})

let stages: Partial<Record<BulkStage, number>> = {}
const lap = (stage: BulkStage, since: number): number => {
  const t = performance.now()
  stages[stage] = (stages[stage] ?? 0) + (t - since) / 1000
  return t
}

async function plan(no: number, f: Flight): Promise<PlannedBatchIn> {
  let t = performance.now()
  const existing = await store.findUsers(data.cmd.directory.id, f.lookup)
  t = lap('lookup', t)
  const p: Planned = planner.plan(f.rows, existing, Infinity)
  const claims = planner.holds(p)
  for (const name of lookupNames(f.lookup)) claims.add(name)
  f.claims = claims
  lap('plan', t)
  const write = encodeBatch(p.planned.write, data.location.engine)
  const out = { no, results: p.planned.results, write, earlier: p.earlier, stages }
  stages = {}
  return out
}

/** The line of each row, and the raw text of each failed one: results keep them. */
function inputsOf(f: Flight, b: PlannedBatchIn): BatchInputs {
  const raws: [number, string][] = []
  b.results.forEach((r, i) => {
    if (r.status === 'failed') raws.push([r.index, rawText(f.inputs[i])])
  })
  return { lines: f.inputs.map((r) => r.line), raws }
}

async function replan(no: number): Promise<void> {
  const f = flights.get(no)
  try {
    if (!f) throw new Error(`batch ${no} is not in flight`)
    const b = await plan(no, f)
    post({ type: 'replanned', batch: b, ...inputsOf(f, b) })
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e), input: false })
  }
}

/** Batches planned ahead of the one being written: bounds the memory the pipeline holds. */
const AHEAD = 2

async function flush(no: number, rows: PreparedRow[], inputs: InputRow[]): Promise<void> {
  await until(() => no - committed <= AHEAD)
  const lookup = planner.lookup(rows)
  const names = lookupNames(lookup)
  // A batch naming a user that a batch still in flight reads or writes waits for its commit, so
  // it reads that user as a run of one batch at a time would.
  for (const [k, f] of flights) {
    if (k >= no) continue
    for (const n of names)
      if (f.claims.has(n)) {
        await until(() => committed >= k)
        break
      }
  }
  const f: Flight = { rows, inputs, lookup, claims: names }
  flights.set(no, f)
  const b = await plan(no, f)
  post({ type: 'batch', batch: b, ...inputsOf(f, b) })
}

async function run(): Promise<void> {
  const input = readInputChunks(store.jobs.chunks(data.jobId, data.inputChunks), {
    format: data.format,
    options: data.importOptions,
    definitions: data.definitions,
    onColumns: (columns) => post({ type: 'columns', columns }),
  })
  let index = 0
  let no = 0
  let rows: PreparedRow[] = []
  let inputs: InputRow[] = []
  let t = performance.now()
  for await (const chunk of input) {
    t = lap('read', t)
    for (const r of chunk) {
      if (index >= data.firstIndex) {
        rows.push(planner.prepare(r.row, index))
        inputs.push(r)
        if (rows.length >= data.batchSize) {
          lap('validate', t)
          await flush(no++, rows, inputs)
          rows = []
          inputs = []
          t = performance.now()
        }
      }
      index++
    }
    t = lap('validate', t)
  }
  if (rows.length) await flush(no, rows, inputs)
  post({ type: 'end', total: index })
}

run().catch((e: unknown) => {
  post({ type: 'error', message: e instanceof Error ? e.message : String(e), input: e instanceof InputError })
})
