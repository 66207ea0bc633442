import { BlockList, isIP, isIPv4 } from 'node:net'

/**
 * Where outbound webhooks may not go: addresses of the server's own host and networks
 * (loopback, private, link-local and cloud metadata, CGNAT, IPv6 ULA and link-local) and
 * addresses that are not unicast destinations on the Internet (unspecified, multicast,
 * broadcast, reserved, documentation, benchmarking). An IPv6 address that carries an IPv4
 * address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) is judged by the IPv4 address too.
 */
const V4: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link_local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255, the broadcast address
]
const V6: readonly [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'reserved'], // IPv4-compatible, deprecated
  ['64:ff9b:1::', 48, 'private'], // local-use NAT64
  ['100::', 64, 'reserved'], // discard-only
  ['2001::', 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID...)
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'unique_local'],
  ['fe80::', 10, 'link_local'],
  ['fec0::', 10, 'site_local'],
  ['ff00::', 8, 'multicast'],
]

function blockList(ranges: readonly [string, number, string][], type: 'ipv4' | 'ipv6') {
  return ranges.map(([net, prefix, reason]) => {
    const list = new BlockList()
    list.addSubnet(net, prefix, type)
    return { list, reason }
  })
}
const V4_LISTS = blockList(V4, 'ipv4')
const V6_LISTS = blockList(V6, 'ipv6')

/** The eight 16-bit groups of an IPv6 address (a valid one: check with isIP first). */
function hextets(ip: string): number[] {
  let text = ip.split('%')[0] ?? ''
  // A dotted IPv4 tail (::ffff:127.0.0.1) becomes two hex groups.
  const lastColon = text.lastIndexOf(':')
  const tail = text.slice(lastColon + 1)
  if (isIPv4(tail)) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number)
    const hex = (n: number) => n.toString(16)
    text = `${text.slice(0, lastColon + 1)}${hex((a << 8) | b)}:${hex((c << 8) | d)}`
  }
  const [head = '', rest] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  let groups = left
  if (rest !== undefined) {
    const right = rest === '' ? [] : rest.split(':')
    groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right]
  }
  return groups.map((h) => parseInt(h, 16))
}

/** The IPv4 address an IPv6 address carries, if it is of a form that carries one. */
function embeddedV4(groups: readonly number[]): string | undefined {
  const g = (i: number) => groups[i] ?? 0
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`
  const zeros = (from: number, to: number) => groups.slice(from, to).every((x) => x === 0)
  if (zeros(0, 5) && (g(5) === 0xffff || g(5) === 0)) return v4(g(6), g(7)) // mapped, compatible
  if (g(0) === 0x64 && g(1) === 0xff9b && zeros(2, 6)) return v4(g(6), g(7)) // NAT64
  if (g(0) === 0x2002) return v4(g(1), g(2)) // 6to4
  return undefined
}

/**
 * Why an IP address may not receive webhooks (`loopback`, `private`, `link_local`...), or
 * null when it may. Anything that is not an IP address is refused as `not_an_ip`.
 */
export function refusedAddress(ip: string): string | null {
  const family = isIP(ip)
  if (family === 4) return V4_LISTS.find((r) => r.list.check(ip, 'ipv4'))?.reason ?? null
  if (family !== 6) return 'not_an_ip'
  const own = V6_LISTS.find((r) => r.list.check(ip, 'ipv6'))?.reason ?? null
  if (own === 'unspecified' || own === 'loopback') return own
  const inner = embeddedV4(hextets(ip))
  return (inner === undefined ? null : refusedAddress(inner)) ?? own
}

const LOCALHOST = /(^|\.)localhost\.?$/i

/** `localhost` and its subdomains (RFC 6761, loopback by definition), with or without the final dot. */
export function isLocalhostName(host: string): boolean {
  return LOCALHOST.test(host)
}

/**
 * What the host of a URL says without DNS: `refused` (a literal IP address or a localhost
 * name that may not receive webhooks), `allowed` (a literal public address) or `name` (it
 * must be resolved, and the answer checked, at connect time). A URL that does not parse is
 * `refused`.
 */
export function literalDestination(url: string): 'refused' | 'allowed' | 'name' {
  let host: string
  try {
    // WHATWG URL parsing writes every numeric IPv4 form (127.1, 2130706433, 0x7f.1) dotted.
    host = new URL(url).hostname
  } catch {
    return 'refused'
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  if (isLocalhostName(host)) return 'refused'
  if (isIP(host) === 0) return 'name'
  return refusedAddress(host) === null ? 'allowed' : 'refused'
}
