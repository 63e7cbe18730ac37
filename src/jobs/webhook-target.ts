import { isIP } from 'node:net'

/**
 * Which addresses a webhook may be sent to. By default only public unicast addresses: a key holder
 * who registers a webhook must not make the server reach its own loopback, its private network or a
 * cloud metadata service (SSRF). The ranges are IANA's special-purpose registries (RFC 6890 and its
 * updates) minus the few that are globally reachable.
 */

interface Range {
  bytes: number[]
  bits: number
  label: string
}

const V4: Array<[string, number, string]> = [
  ['0.0.0.0', 8, '"this network" (0.0.0.0/8)'],
  ['10.0.0.0', 8, 'private (10.0.0.0/8)'],
  ['100.64.0.0', 10, 'shared address space (100.64.0.0/10)'],
  ['127.0.0.0', 8, 'loopback (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'link-local (169.254.0.0/16)'],
  ['172.16.0.0', 12, 'private (172.16.0.0/12)'],
  ['192.0.0.0', 24, 'IETF protocol assignments (192.0.0.0/24)'],
  ['192.0.2.0', 24, 'documentation (192.0.2.0/24)'],
  ['192.88.99.0', 24, '6to4 relay anycast (192.88.99.0/24)'],
  ['192.168.0.0', 16, 'private (192.168.0.0/16)'],
  ['198.18.0.0', 15, 'benchmarking (198.18.0.0/15)'],
  ['198.51.100.0', 24, 'documentation (198.51.100.0/24)'],
  ['203.0.113.0', 24, 'documentation (203.0.113.0/24)'],
  ['224.0.0.0', 4, 'multicast (224.0.0.0/4)'],
  ['240.0.0.0', 4, 'reserved (240.0.0.0/4, broadcast included)'],
]

const V6: Array<[string, number, string]> = [
  ['::1', 128, 'loopback (::1/128)'],
  ['::', 128, 'unspecified (::/128)'],
  ['::', 96, 'IPv4-compatible, deprecated (::/96)'],
  ['64:ff9b:1::', 48, 'local-use IPv4/IPv6 translation (64:ff9b:1::/48)'],
  ['100::', 64, 'discard-only (100::/64)'],
  ['2001::', 23, 'IETF protocol assignments, Teredo included (2001::/23)'],
  ['2001:db8::', 32, 'documentation (2001:db8::/32)'],
  ['2002::', 16, '6to4 (2002::/16)'],
  ['3fff::', 20, 'documentation (3fff::/20)'],
  ['5f00::', 16, 'segment routing (5f00::/16)'],
  ['fc00::', 7, 'unique local (fc00::/7)'],
  ['fe80::', 10, 'link-local (fe80::/10)'],
  ['fec0::', 10, 'site-local (fec0::/10)'],
  ['ff00::', 8, 'multicast (ff00::/8)'],
]

/** The bytes of an IPv4 or IPv6 address, or null when it is not one. */
export function addressBytes(address: string): number[] | null {
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const kind = isIP(ip)
  if (kind === 4) return ip.split('.').map(Number)
  if (kind !== 6) return null
  let text = ip.replace(/%.*$/, '')
  // A trailing dotted quad (::ffff:127.0.0.1) becomes two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number)
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : [])
  const h = parse(head)
  const t = parse(tail)
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  return groups.flatMap((g) => [g >> 8, g & 0xff])
}

const compile = (list: Array<[string, number, string]>): Range[] =>
  list.map(([a, bits, label]) => ({ bytes: addressBytes(a) as number[], bits, label }))
const RANGES_V4 = compile(V4)
const RANGES_V6 = compile(V6)

function inRange(bytes: number[], r: Range): boolean {
  for (let bit = 0; bit < r.bits; bit += 8) {
    const i = bit >> 3
    const take = Math.min(8, r.bits - bit)
    const mask = (0xff << (8 - take)) & 0xff
    if ((bytes[i] & mask) !== (r.bytes[i] & mask)) return false
  }
  return true
}

/**
 * Why an address is not a public unicast one ("loopback (127.0.0.0/8)"), or null when it is public.
 * IPv4 inside IPv6 (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) is judged by its IPv4 address.
 */
export function nonPublicReason(address: string): string | null {
  const bytes = addressBytes(address)
  if (!bytes) return 'not an IP address'
  if (bytes.length === 4) return RANGES_V4.find((r) => inRange(bytes, r))?.label ?? null
  const embedsV4 = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff // ::ffff:0:0/96, IPv4-mapped
  const nat64 = [0, 0x64, 0xff, 0x9b].every((b, i) => b === bytes[i]) && bytes.slice(4, 12).every((b) => b === 0) // 64:ff9b::/96
  if (embedsV4 || nat64) {
    const why = RANGES_V4.find((r) => inRange(bytes.slice(12), r))?.label
    return why ? `${why}, inside IPv6` : null
  }
  return RANGES_V6.find((r) => inRange(bytes, r))?.label ?? null
}

/** Host names that name this machine whatever DNS says (RFC 6761). */
export function isLocalName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '')
  return h === 'localhost' || h.endsWith('.localhost')
}

/**
 * Why a webhook URL's host may not be used, judged from the URL alone (a literal address or
 * `localhost`), or null. Names are judged again at each delivery, on every address they resolve to.
 */
export function literalHostReason(url: URL): string | null {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  if (isIP(host)) return nonPublicReason(host)
  if (isLocalName(host)) return 'loopback (localhost, RFC 6761)'
  return null
}
