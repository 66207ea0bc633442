import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { Agent, buildConnector, type Dispatcher } from 'undici'
import { isLocalhostName, refusedAddress } from '../domain/webhooks/destination.js'

/** Resolves a host name to every address it has (node:dns `lookup` with `all`). */
export type Resolver = (hostname: string) => Promise<readonly { address: string }[]>

export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true })

/** The destination is an address webhooks may not reach (see domain/webhooks/destination.ts). */
export class DestinationNotAllowedError extends Error {
  override readonly name = 'DestinationNotAllowedError'
  readonly code = 'ERR_DESTINATION_NOT_ALLOWED'
  constructor(readonly reason: string) {
    super(`destination not allowed (${reason})`)
  }
}

/** The host name did not resolve (the resolver's own error is kept as `cause`, not shown). */
export class DestinationDnsError extends Error {
  override readonly name = 'DestinationDnsError'
  readonly code = 'ERR_DESTINATION_DNS'
}

export interface GuardOptions {
  resolve?: Resolver
  /** The connector that opens the socket (tests pass one that records instead). */
  connector?: buildConnector.connector
  /** Milliseconds to wait for a TCP/TLS connection; undici's default is 10 s. */
  connectTimeoutMs?: number
}

/**
 * Resolves `hostname` and checks every address it has; the first is the one to connect to.
 * A literal address is checked as it is. Any refused address refuses the whole name: a name
 * that mixes public and internal addresses is not one to trust.
 */
export async function checkedAddress(hostname: string, resolve: Resolver): Promise<string> {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname
  if (isIP(host) !== 0) {
    const reason = refusedAddress(host)
    if (reason !== null) throw new DestinationNotAllowedError(reason)
    return host
  }
  if (isLocalhostName(host)) throw new DestinationNotAllowedError('loopback')
  let addresses: readonly { address: string }[]
  try {
    addresses = await resolve(host)
  } catch (err) {
    throw new DestinationDnsError('the destination host name did not resolve', { cause: err })
  }
  const first = addresses[0]
  if (!first) throw new DestinationDnsError('the destination host name has no address')
  for (const a of addresses) {
    const reason = refusedAddress(a.address)
    if (reason !== null) throw new DestinationNotAllowedError(reason)
  }
  return first.address
}

/**
 * An undici dispatcher for outbound webhooks that connects only to allowed addresses. The
 * check runs in the connector, on the address the socket is then opened to, so a name cannot
 * resolve to a public address for a check and to an internal one for the connection (DNS
 * rebinding). TLS still verifies the certificate against the URL's host name.
 */
export function createGuardedDispatcher(o: GuardOptions = {}): Dispatcher {
  const resolve = o.resolve ?? systemResolver
  const connect =
    o.connector ??
    buildConnector(o.connectTimeoutMs === undefined ? {} : { timeout: o.connectTimeoutMs })
  return new Agent({
    connect: (opts, callback) => {
      checkedAddress(opts.hostname, resolve).then(
        (address) => connect({ ...opts, hostname: address }, callback),
        (err: Error) => callback(err, null),
      )
    },
  })
}
