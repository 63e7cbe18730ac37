import { Worker } from 'node:worker_threads'
import type { ImportOptions, InputFormat } from '../core/jobs.js'
import type { FieldDefinition } from '../core/types.js'
import type { PlannedBatchIn, PlannedSource } from '../engine/planned-run.js'
import type { BulkCommand } from '../engine/types.js'
import type { StoreLocation } from '../store/store.js'
import { InputError } from './input.js'

/** What the planner's thread is started with. */
export interface PlannerData {
  location: StoreLocation
  jobId: string
  inputChunks: number
  format: InputFormat
  importOptions: ImportOptions
  /** The fields the input is mapped with (the directory's and those the door needs). */
  definitions: readonly FieldDefinition[]
  cmd: BulkCommand
  /** The first row to plan (a resumed job's checkpoint); rows before it are read and skipped. */
  firstIndex: number
  batchSize: number
}

/** Where each row stood in the input, and a failed row's text, as results keep them. */
export interface BatchInputs {
  lines: number[]
  raws: [number, string][]
}

export type FromPlanner =
  | { type: 'columns'; columns: string[] }
  | ({ type: 'batch' | 'replanned'; batch: PlannedBatchIn } & BatchInputs)
  | { type: 'end'; total: number }
  | { type: 'error'; message: string; input: boolean }

export type ToPlanner = { type: 'committed'; no: number } | { type: 'replan'; no: number } | { type: 'stop' }

/**
 * The thread's module: the compiled one next to this file, or under tsx (tests, development) the
 * source, which the thread loads through tsx's loader.
 */
function startThread(data: PlannerData): Worker {
  const source = import.meta.url.endsWith('.ts')
  const url = new URL(`./planner-thread.${source ? 'ts' : 'js'}`, import.meta.url)
  if (!source) return new Worker(url, { workerData: data })
  const tsx = import.meta.resolve('tsx/esm/api')
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}) })`
  return new Worker(code, { eval: true, workerData: data })
}

/**
 * An import's planner on a thread of its own: it reads, parses, maps and validates the input, and
 * reads and plans each batch, up to two batches ahead of the one the job writes, so the two
 * threads work at once (the job's thread writes and commits; the planner does the per-row work).
 * A batch that names a user a batch still being written reads or writes waits for that batch's
 * commit, so every batch is planned against what a one-at-a-time run would see.
 */
export class PlannerThread implements PlannedSource {
  /** Each planned row's input line and, when it failed, its text; the job deletes them once recorded. */
  readonly inputs = new Map<number, { line: number; raw: string | null }>()
  /** Rows in the input, once it has all been read. */
  total: number | null = null
  private readonly worker: Worker
  private readonly queue: FromPlanner[] = []
  private failure: Error | null = null
  private wake: (() => void) | null = null
  private replanning: { resolve(b: PlannedBatchIn): void; reject(e: Error): void } | null = null
  private exited = false

  constructor(
    data: PlannerData,
    private readonly onColumns: (columns: string[]) => void,
  ) {
    this.worker = startThread(data)
    this.worker.on('message', (m: FromPlanner) => {
      if (m.type === 'replanned') {
        this.keep(m)
        this.replanning?.resolve(m.batch)
        this.replanning = null
      } else if (m.type === 'columns') this.onColumns(m.columns)
      else this.push(m)
    })
    this.worker.on('error', (e: Error) => this.fail(e))
    this.worker.once('exit', (code) => {
      this.exited = true
      this.fail(new Error(`the import planner's thread exited (${code})`))
    })
  }

  async *batches(): AsyncGenerator<PlannedBatchIn> {
    for (;;) {
      const m = this.queue.shift()
      if (!m) {
        if (this.failure) throw this.failure
        await new Promise<void>((resolve) => (this.wake = resolve))
        continue
      }
      if (m.type === 'error') throw m.input ? new InputError(m.message) : new Error(m.message)
      if (m.type === 'end') {
        this.total = m.total
        return
      }
      if (m.type === 'batch') {
        this.keep(m)
        yield m.batch
      }
    }
  }

  replan(no: number): Promise<PlannedBatchIn> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure)
      this.replanning = { resolve, reject }
      this.send({ type: 'replan', no })
    })
  }

  committed(no: number): void {
    this.send({ type: 'committed', no })
  }

  /** Ends the thread (after its connection is closed, or after 5 s). */
  async stop(): Promise<void> {
    if (this.exited) return
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()))
    this.send({ type: 'stop' })
    const timer = setTimeout(() => void this.worker.terminate(), 5000)
    await exited
    clearTimeout(timer)
  }

  private send(m: ToPlanner): void {
    if (!this.exited) this.worker.postMessage(m)
  }

  private keep(m: BatchInputs & { batch: PlannedBatchIn }): void {
    const raws = new Map(m.raws)
    m.batch.results.forEach((r, i) => this.inputs.set(r.index, { line: m.lines[i], raw: raws.get(r.index) ?? null }))
  }

  private push(m: FromPlanner): void {
    this.queue.push(m)
    this.wake?.()
    this.wake = null
  }

  private fail(e: Error): void {
    if (!this.failure && this.total === null) this.failure = e
    this.replanning?.reject(e)
    this.replanning = null
    this.wake?.()
    this.wake = null
  }
}
