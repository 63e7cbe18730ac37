/**
 * The benchmark's input: deterministic, realistic user rows, and what each phase must report.
 * The same generator feeds Rollcall and the raw engines, so both sides write identical data.
 */

export interface BenchRow {
  email: string
  externalId: string
  firstName: string
  lastName: string
  phone: string
  country: string
  locale: string
  metadata: { plan: string; seats: number }
}

/** 1–3: the sync phases (PHASES); 4: the imports benchmark's raw update of every row. */
export type PhaseNumber = 1 | 2 | 3 | 4

export interface Phase {
  number: PhaseNumber
  name: string
}

export const PHASES: readonly Phase[] = [
  { number: 1, name: 'create (all new)' },
  { number: 2, name: 'same rows (all unchanged)' },
  { number: 3, name: 'half changed' },
]

export interface Counts {
  created: number
  updated: number
  unchanged: number
  failed: number
}

// Country and locale go together so that the rows look like real sign-ups.
const PLACES: readonly (readonly [string, string])[] = [
  ['US', 'en-US'],
  ['GB', 'en-GB'],
  ['DE', 'de-DE'],
  ['FR', 'fr-FR'],
  ['JP', 'ja-JP'],
  ['BR', 'pt-BR'],
  ['IN', 'en-IN'],
  ['CA', 'fr-CA'],
]
const PLANS = ['free', 'silver', 'gold'] as const

const pad = (n: number, width: number): string => String(n).padStart(width, '0')

/** Phase 3 changes the first name of every even row; the other phases change nothing. */
export const isChanged = (i: number, phase: PhaseNumber): boolean => phase === 3 && i % 2 === 0

export function makeRow(i: number, phase: PhaseNumber): BenchRow {
  const [country, locale] = PLACES[i % PLACES.length]
  return {
    email: `user${pad(i, 6)}@example.com`,
    externalId: `E${pad(i, 6)}`,
    firstName: isChanged(i, phase) ? `Renamed${i}` : `First${i}`,
    lastName: `Last${i}`,
    phone: `+1 555 ${pad(i % 10_000, 4)}`,
    country,
    locale,
    metadata: { plan: PLANS[i % PLANS.length], seats: (i % 10) + 1 },
  }
}

/** Rows [start, start + size) of a phase, clipped to `total`. */
export function makeBatch(start: number, size: number, total: number, phase: PhaseNumber): BenchRow[] {
  const end = Math.min(start + size, total)
  const rows: BenchRow[] = []
  for (let i = start; i < end; i++) rows.push(makeRow(i, phase))
  return rows
}

/** What a correct upsert of rows [start, end) reports in a phase. */
export function expectedCounts(phase: PhaseNumber, start: number, end: number): Counts {
  const n = end - start
  if (phase === 1) return { created: n, updated: 0, unchanged: 0, failed: 0 }
  if (phase === 2) return { created: 0, updated: 0, unchanged: n, failed: 0 }
  if (phase === 4) return { created: 0, updated: n, unchanged: 0, failed: 0 }
  // Even indexes in [start, end).
  const even = Math.ceil(end / 2) - Math.ceil(start / 2)
  return { created: 0, updated: even, unchanged: n - even, failed: 0 }
}

export const addCounts = (a: Counts, b: Counts): Counts => ({
  created: a.created + b.created,
  updated: a.updated + b.updated,
  unchanged: a.unchanged + b.unchanged,
  failed: a.failed + b.failed,
})

export const zeroCounts = (): Counts => ({ created: 0, updated: 0, unchanged: 0, failed: 0 })
