/**
 * Preloaded into a benchmark server (`node --import ./bench/alloc-profile.ts …`, see
 * BENCH_ALLOC_PROFILE in imports.ts): samples every allocation the process makes, including
 * objects the garbage collector has since freed (what `--heap-prof` leaves out), and writes the
 * profile to $BENCH_ALLOC_PROFILE_FILE when the process exits. Read it with alloc-summary.ts.
 * A server's peak memory during an import is mostly garbage waiting for a major GC: this says
 * which code makes it.
 */
import { Session } from 'node:inspector'
import { writeFileSync } from 'node:fs'

const file = process.env.BENCH_ALLOC_PROFILE_FILE

if (file) {
  const session = new Session()
  session.connect()
  // The inspector answers this process's own session synchronously.
  session.post('HeapProfiler.startSampling', {
    samplingInterval: 32 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  })
  process.on('exit', () => {
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (!err) writeFileSync(file, JSON.stringify(result.profile))
    })
  })
}
