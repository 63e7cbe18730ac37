/**
 * Summarises an allocation profile written by alloc-profile.ts (BENCH_ALLOC_PROFILE=<dir>): the
 * bytes allocated by each function itself and by each function with what it calls, largest first.
 * Usage: npx tsx bench/alloc-summary.ts <file.heapprofile> [--top 30] [--callers NAME]
 *   --callers NAME  the bytes of functions whose key (`name file:line:col`) contains NAME, split
 *                   by their three nearest callers: which call sites allocate through them
 */
import { readFileSync } from 'node:fs'

interface Node {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  selfSize: number
  children: Node[]
}

const [file, ...args] = process.argv.slice(2)
if (!file) {
  console.error('usage: npx tsx bench/alloc-summary.ts <file.heapprofile> [--top 30]')
  process.exit(2)
}
const topAt = args.indexOf('--top')
const top = topAt >= 0 ? Number(args[topAt + 1]) : 30
const callersAt = args.indexOf('--callers')
const callersOf = callersAt >= 0 ? args[callersAt + 1] : null
const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: Node }).head

const repo = process.cwd() + '/'
const keyOf = (n: Node): string => {
  const f = n.callFrame
  const url = f.url.replace(/^file:\/\//, '').replace(repo, '')
  return `${f.functionName || '(anonymous)'} ${url}${url ? `:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}`
}

const self = new Map<string, number>()
const byCallers = new Map<string, number>()
const stack: string[] = []
const total = new Map<string, number>()
let all = 0
/** Returns the bytes under n; counts each function once per stack (recursion). */
function walk(n: Node, onStack: Set<string>): number {
  const k = keyOf(n)
  self.set(k, (self.get(k) ?? 0) + n.selfSize)
  all += n.selfSize
  if (callersOf && n.selfSize && k.includes(callersOf)) {
    const chain = [
      k,
      ...stack
        .slice(-3)
        .reverse()
        .map((c) => `  ← ${c}`),
    ].join('\n')
    byCallers.set(chain, (byCallers.get(chain) ?? 0) + n.selfSize)
  }
  stack.push(k)
  const fresh = !onStack.has(k)
  if (fresh) onStack.add(k)
  let sum = n.selfSize
  for (const c of n.children) sum += walk(c, onStack)
  stack.pop()
  if (fresh) {
    onStack.delete(k)
    total.set(k, (total.get(k) ?? 0) + sum)
  }
  return sum
}
walk(head, new Set())

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1).padStart(8)} MiB ${((100 * b) / all).toFixed(1).padStart(5)} %`
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [k, b] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${mb(b)}  ${k}`)
}
console.log(`${file}: ${(all / 2 ** 20).toFixed(1)} MiB allocated (sampled, freed objects included)`)
print('by function (self)', self)
print('by function, including callees', total)
if (callersOf) print(`'${callersOf}' by its callers`, byCallers)
