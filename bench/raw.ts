/** Runs a raw engine in a child process (see raw-child.ts) and collects its figures. */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { PhaseResult } from './stats.js'

const CHILD = fileURLToPath(new URL('./raw-child.ts', import.meta.url))

type ChildMessage = { ok: true; results: PhaseResult[] } | { ok: false; error: string }

export function runRaw(
  engine: 'sqlite' | 'postgres',
  target: string,
  total: number,
  batchSize: number,
  timeoutMs: number,
  kind: 'sync' | 'import' = 'sync',
): Promise<PhaseResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, engine, target, String(total), String(batchSize), kind], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    let message: ChildMessage | undefined
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`raw ${engine} did not finish within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    child.on('message', (m) => {
      message = m as ChildMessage
    })
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (message?.ok) resolve(message.results)
      else reject(new Error(`raw ${engine} failed (exit ${code ?? signal}): ${message?.error ?? 'no result'}`))
    })
  })
}
