/**
 * Compiles src/ with tsc (tsconfig.build.json) into a temp directory, for a benchmark of the server
 * as `node bin/rollcall.js` runs it in production, without tsx. The repo's own dist/ is left alone.
 */
import { spawn } from 'node:child_process'
import { existsSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './cleanup.js'

export interface Build {
  /** The compiled CLI entry point. */
  entry: string
  remove: () => Promise<void>
}

export async function buildServer(repoRoot: string, timeoutMs = 10 * 60_000): Promise<Build> {
  const dir = tempDir()
  // ESM like the repo, and the repo's dependencies, seen from the compiled files.
  writeFileSync(join(dir.path, 'package.json'), JSON.stringify({ type: 'module' }))
  symlinkSync(join(repoRoot, 'node_modules'), join(dir.path, 'node_modules'))
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
  const out: string[] = []
  const code = await new Promise<number | string>((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', join(dir.path, 'dist')], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const keep = (c: Buffer): void => {
      out.push(c.toString('utf8'))
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('exit', (c, sig) => {
      clearTimeout(timer)
      resolve(c ?? sig ?? 'unknown')
    })
  })
  const entry = join(dir.path, 'dist', 'cli', 'main.js')
  if (!existsSync(entry)) {
    await dir.remove()
    throw new Error(`tsc built no ${entry} (exit ${code}):\n${out.join('').slice(-2_000)}`)
  }
  // Type errors elsewhere in the tree (work in progress) do not stop tsc from emitting: say so.
  if (code !== 0) console.log(`  (tsc exited ${code}: type errors in the tree; the emitted JavaScript is run anyway)`)
  return { entry, remove: dir.remove }
}
