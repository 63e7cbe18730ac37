/**
 * Summarises a V8 .cpuprofile (as written by `node --cpu-prof`, e.g. by the servers of a run with
 * BENCH_CPU_PROF=<dir>): where the time goes, by area of the code, by function (self time) and
 * by function including what it calls.
 * Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 25] [--after S] [--until S] [--under NAME]
 *   --after S     skip the first S seconds (start-up: module loading, migrations)
 *   --until S     stop S seconds after the start (with --after: one phase of a run)
 *   --under NAME  only samples whose stack holds a function whose name contains NAME (sync stacks
 *                 only: an `await` cuts the stack, so prefer --after for async code)
 *   --callers KEY the time of functions whose key (`name file:line:col`) contains KEY, split by
 *                 the chain of their callers (--depth frames, default 5): which call sites pay for it
 */
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}
interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const args = process.argv.slice(2)
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name)
  if (i === -1) return undefined
  const v = args[i + 1]
  args.splice(i, 2)
  return v
}
const top = Number(opt('--top') ?? 25)
const after = Number(opt('--after') ?? 0) * 1e6
const until = Number(opt('--until') ?? Infinity) * 1e6
const filter = opt('--under')
const callersOf = opt('--callers')
const depth = Number(opt('--depth') ?? 5)
const file = args[0]
if (!file || args.length !== 1 || !Number.isFinite(top) || !Number.isFinite(after) || Number.isNaN(until)) {
  console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top 25] [--after S] [--until S] [--under NAME]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const repo = new URL('..', import.meta.url).pathname
function where(cf: CallFrame): string {
  let u = cf.url.replace(/^file:\/\//, '')
  if (u.startsWith(repo)) u = u.slice(repo.length)
  return u ? `${u}:${cf.lineNumber + 1}:${(cf as CallFrame & { columnNumber?: number }).columnNumber ?? 0}` : ''
}
const key = (cf: CallFrame): string => `${cf.functionName || '(anonymous)'} ${where(cf)}`.trim()

/** Coarse areas: our code by folder, dependencies by package, V8's pseudo-frames by name. */
function area(cf: CallFrame): string {
  const u = cf.url.replace(/^file:\/\//, '')
  if (!u) return cf.functionName.startsWith('(') ? cf.functionName : '(native)'
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)
  if (dep) return `dep: ${dep[1]}`
  if (u.startsWith('node:')) return `node: ${u.slice(5).split('/')[0]}`
  if (u.startsWith(repo)) {
    const rel = u.slice(repo.length)
    const parts = rel.split('/')
    return parts.length > 2
      ? `${parts[0]}/${parts[1]}/${parts.length > 3 ? `${parts[2]}/` : ''}`.replace(/\/$/, '') + (parts.length === 3 ? `/${parts[2]}` : '')
      : rel
  }
  return u
}

function underFilter(id: number): boolean {
  if (!filter) return true
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    if (byId.get(cur)?.callFrame.functionName.includes(filter)) return true
  }
  return false
}

const chains = new Map<string, number>()
const self = new Map<string, number>()
const selfArea = new Map<string, number>()
const inclusive = new Map<string, number>()
let total = 0
let idle = 0
let t = profile.startTime
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i] ?? 0
  const id = profile.samples[i]
  const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000
  const node = byId.get(id)
  if (!node || t - profile.startTime < after || t - profile.startTime >= until) continue
  if (node.callFrame.functionName === '(idle)') {
    idle += dt
    continue
  }
  if (!underFilter(id)) continue
  total += dt
  const k = key(node.callFrame)
  self.set(k, (self.get(k) ?? 0) + dt)
  // A leaf with no URL is native code: charge its area to the nearest JS caller's area too.
  const a = area(node.callFrame)
  selfArea.set(a, (selfArea.get(a) ?? 0) + dt)
  const seen = new Set<string>()
  let chained = false
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const cf = byId.get(cur)?.callFrame
    if (!cf) break
    const ck = key(cf)
    if (callersOf && !chained && ck.includes(callersOf)) {
      chained = true
      const up: string[] = [ck]
      for (let p = parent.get(cur); p !== undefined && up.length < depth; p = parent.get(p))
        up.push(key(byId.get(p)?.callFrame as CallFrame))
      const chain = up.join('\n             ← ')
      chains.set(chain, (chains.get(chain) ?? 0) + dt)
    }
    if (seen.has(ck)) continue
    seen.add(ck)
    inclusive.set(ck, (inclusive.get(ck) ?? 0) + dt)
  }
}

const wall = (Math.min(profile.endTime - profile.startTime, until) - after) / 1e6
const ms = (n: number): string => `${(n / 1000).toFixed(1).padStart(8)} s`
const share = (n: number): string => `${((n / total) * 100).toFixed(1).padStart(5)} %`
const print = (title: string, m: Map<string, number>, n: number): void => {
  console.log(`\n${title}`)
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${ms(v)} ${share(v)}  ${k}`)
}
console.log(
  `${file}: ${wall.toFixed(1)} s profiled, ${(idle / 1000).toFixed(1)} s idle, ${(total / 1000).toFixed(1)} s busy` +
    `${after ? ` after the first ${after / 1e6} s` : ''}${until < Infinity ? ` until ${until / 1e6} s` : ''}${filter ? ` under functions named *${filter}*` : ''} (shares below are of the busy time)`,
)
print('by area (self time)', selfArea, top)
print('by function (self time)', self, top)
print('by function, including callees', inclusive, top)
if (callersOf) print(`*${callersOf}* by caller chain (innermost first)`, chains, top)
