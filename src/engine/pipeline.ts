import { type Store, type StoreTx, WriteConflict } from '../store/store.js'

/** One batch's work, cut where the pipeline may make it wait for the batch before it. */
export interface BatchSteps<P, R> {
  /** The unique values the batch's rows name (match keys and unique fields), known before it runs. */
  readonly names: ReadonlySet<string>
  /** Reads the batch's users and plans it: the plan, and the unique values of every user it read or will write. */
  plan(tx: StoreTx): Promise<{ plan: P; holds: ReadonlySet<string> }>
  /** Writes the users and their history. */
  write(tx: StoreTx, plan: P): Promise<void>
  /** The last writes before the commit (results, checkpoint); what it returns goes to `record`. */
  finish(tx: StoreTx, plan: P): Promise<R>
  /** After the commit, in batch order; throwing stops the run (a cancel, a shutdown). */
  record(r: R): Promise<void>
  /** The attempt's transaction rolled back (it is tried again, or the run fails). */
  rolledBack?(): void
}

/** The batch before was rolled back: this one rolls back too, and runs again once that one is done. */
class Aborted extends Error {}

interface Deferred<T> {
  promise: Promise<T>
  resolve(v: T): void
  reject(e: unknown): void
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Nobody may be waiting when it fails: that is not an unhandled rejection.
  promise.catch(() => {})
  return { promise, resolve, reject }
}

/** A batch in the pipeline and the points a younger batch waits at. */
class Flight {
  /** What the batch names and the users it read or writes hold; set once planned (anew by each attempt). */
  planned = deferred<ReadonlySet<string>>()
  /** Its users and history are written (not committed). */
  written = deferred<void>()
  /** Committed and recorded: its last state. Rejected when the batch failed for good. */
  readonly done = deferred<void>()
  /** Rejected to make the attempt in progress roll back (the batch before it failed). */
  abort = deferred<never>()
  aborted = false
  /** Settles once an aborted attempt has rolled back. */
  rolledBack = deferred<void>()
  next: Flight | null = null

  /** The batch before, until this one is done: a finished flight lets go of it, so flights do not pile up. */
  constructor(public prev: Flight | null) {}

  /** Waits for `p`, unless this attempt is aborted first. */
  async gate<T>(p: Promise<T>): Promise<T> {
    if (this.aborted) throw new Aborted()
    return Promise.race([p, this.abort.promise])
  }

  /** Stops the younger batch's attempt and waits until its transaction has rolled back. */
  async stopNext(): Promise<void> {
    const n = this.next
    if (!n || n.aborted) return
    n.aborted = true
    n.abort.reject(new Aborted())
    // Rolled back at a gate, or ended by a failure of its own.
    await Promise.race([n.rolledBack.promise, n.done.promise.catch(() => {})])
  }
}

/**
 * Two batches in flight, each in a transaction of its own, for a store whose transactions run at
 * once (PostgreSQL): while one batch's writes and commit run in the database, the next batch is
 * read, validated, looked up and planned. The semantics are those of running the batches one
 * after another:
 *
 * - a batch that names a unique value (an email, an id, …) that the batch before it named or whose
 *   users hold waits for that batch to commit before it reads anything, so it sees that batch's
 *   users exactly as a sequential run would. Batches that share no user run side by side, and
 *   their reads see only committed data, so neither can see the other;
 * - a batch writes only once the batch before it has written, and commits only once that one has
 *   committed and been recorded: results, counts and checkpoints stay in input order, and a crash
 *   never leaves a later batch committed after an earlier one that was not;
 * - a batch that loses a race (WriteConflict) first rolls back the batch after it, then runs
 *   again; the batch after it runs again once it is done. Any other failure rolls back the batch
 *   after it too, and the run fails with the first error.
 */
export class Pipeline {
  private flights: Flight[] = []
  private failure: { error: unknown } | null = null

  constructor(
    private readonly store: Store,
    private readonly maxAttempts: number,
    /** The error to fail with when a batch kept losing races. */
    private readonly gaveUp: (e: WriteConflict) => Error,
  ) {}

  /**
   * Starts a batch once fewer than two are in flight; returns without waiting for it. `alone`:
   * the batch runs by itself (every batch before it done, and it done before the next starts).
   * Throws the run's failure, once there is one.
   */
  async submit<P, R>(steps: BatchSteps<P, R>, alone = false): Promise<void> {
    while (this.flights.length >= (alone ? 1 : 2)) {
      await this.flights[0].done.promise.catch(() => {})
      this.flights.shift()
    }
    this.throwIfFailed()
    const prev = this.flights.at(-1) ?? null
    const flight = new Flight(prev)
    if (prev) prev.next = flight
    this.flights.push(flight)
    void this.fly(flight, steps)
      .then(
        () => flight.done.resolve(),
        (e: unknown) => {
          this.failure ??= { error: e }
          flight.done.reject(e)
        },
      )
      .finally(() => {
        flight.prev = null
        flight.next = null
      })
    if (alone) await flight.done.promise.catch(() => {})
    this.throwIfFailed()
  }

  /** Waits for every batch in flight; throws the run's failure. */
  async drain(): Promise<void> {
    for (const f of this.flights) await f.done.promise.catch(() => {})
    this.flights = []
    this.throwIfFailed()
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error
  }

  private async fly<P, R>(f: Flight, steps: BatchSteps<P, R>): Promise<void> {
    const prev = f.prev
    for (let attempt = 1; ;) {
      let result!: R
      try {
        await this.store.transaction(async (tx) => {
          if (prev) {
            const held = await f.gate(prev.planned.promise)
            if (overlaps(held, steps.names)) await f.gate(prev.done.promise)
          }
          const { plan, holds } = await steps.plan(tx)
          f.planned.resolve(union(steps.names, holds))
          if (prev) await f.gate(prev.written.promise)
          await steps.write(tx, plan)
          f.written.resolve()
          if (prev) await f.gate(prev.done.promise)
          result = await steps.finish(tx, plan)
        })
      } catch (e) {
        steps.rolledBack?.()
        // A new attempt plans and writes anew: a batch started after this one must wait for what
        // that attempt holds and writes, not for what this one did (before anything can start it).
        f.planned = deferred()
        f.written = deferred()
        if (e instanceof Aborted || f.aborted) {
          // The batch before failed: this attempt rolled back. Run again once that one is done
          // (its gates are then all open), or fail with it.
          f.rolledBack.resolve()
          await prev?.done.promise
          f.aborted = false
          f.abort = deferred<never>()
          f.rolledBack = deferred<void>()
          continue
        }
        // The batch after this one may have read or planned beside this one's rolled-back writes.
        await f.stopNext()
        if (e instanceof WriteConflict) {
          if (attempt >= this.maxAttempts) throw this.gaveUp(e)
          attempt++
          continue
        }
        throw e
      }
      try {
        await steps.record(result)
      } catch (e) {
        await f.stopNext()
        throw e
      }
      return
    }
  }
}

function overlaps(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a]
  for (const v of small) if (large.has(v)) return true
  return false
}

function union(a: ReadonlySet<string>, b: ReadonlySet<string>): ReadonlySet<string> {
  if (b.size === 0) return a
  const all = new Set(a)
  for (const v of b) all.add(v)
  return all
}
