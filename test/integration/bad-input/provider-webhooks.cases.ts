/**
 * Provider webhooks: the in-process simulator takes none, and the HTTP simulator's endpoint
 * refuses anything not signed with its secret, and signed bodies it cannot parse.
 */
import { signSimulatorBody } from '../../../src/providers/simulator/simulator-signature.js'
import { MIB, type Case } from './case.js'

const URL = '/webhooks/simulator/status'
const SECRET = 'simulator-dev-secret'
const SIG = 'x-simulator-signature'
const TS = 'x-simulator-timestamp'
const signed = (raw: string | Buffer, atMs = Date.now(), key = SECRET) =>
  signSimulatorBody(key, Buffer.isBuffer(raw) ? raw : Buffer.from(raw), atMs)
const good = signed('[]')
const goodSig = good[SIG] ?? ''

const garbage: [string, string | Buffer, string | null][] = [
  ['text', 'garbage', 'text/plain'],
  ['unclosed JSON', '{', 'application/json'],
  ['an event', '[{"providerMessageId":"x","status":"delivered"}]', 'application/json'],
  ['no body', '', null],
  ['binary', Buffer.from([0xff, 0x00, 0x80, 0x7f]), 'application/octet-stream'],
]
const badSignatures: [string, Record<string, string | string[]>][] = [
  ['no headers', {}],
  ['signature only', { [SIG]: goodSig }],
  ['timestamp only', { [TS]: good[TS] ?? '' }],
  ['v1=zz', { ...good, [SIG]: 'v1=zz' }],
  ['v2 scheme', { ...good, [SIG]: goodSig.replace('v1=', 'v2=') }],
  ['upper-case hex', { ...good, [SIG]: goodSig.toUpperCase() }],
  ['zeros', { ...good, [SIG]: `v1=${'0'.repeat(64)}` }],
  ['other body', signed('[{}]')],
  ['wrong secret', signed('[]', Date.now(), 'not-the-secret')],
  ['10 minutes old', signed('[]', Date.now() - 10 * 60_000)],
  ['10 minutes ahead', signed('[]', Date.now() + 10 * 60_000)],
  ['timestamp abc', { ...good, [TS]: 'abc' }],
  ['timestamp 1e9', { ...good, [TS]: '1e9' }],
  ['repeated signature', { ...good, [SIG]: [goodSig, goodSig] }],
]
const unparseable: [string, string | Buffer][] = [
  ['text', 'garbage'],
  ['object', '{}'],
  ['string', '"x"'],
  ['empty', ''],
  ['object of events', '{"0":{"providerMessageId":"x","status":"delivered"}}'],
  ['UTF-16', Buffer.from('[]', 'utf16le')],
]

export const cases: Case[] = [
  ...garbage.map(([label, raw, contentType]): Case => ({
    name: `in-process simulator: ${label}`,
    url: URL,
    raw,
    contentType,
    status: 404,
    code: 'not_found',
  })),
  ...garbage.map(([label, raw, contentType]): Case => ({
    name: `unsigned ${label}`,
    server: 'webhooks',
    url: URL,
    raw,
    contentType,
    status: 403,
    code: 'invalid_signature',
  })),
  ...['twilio', 'nope', '%00'].map((provider): Case => ({
    name: `unknown provider ${provider}`,
    server: 'webhooks',
    url: `/webhooks/${provider}/status`,
    raw: '[]',
    status: 404,
    code: 'not_found',
  })),
  ...badSignatures.map(([label, headers]): Case => ({
    name: `bad signature: ${label}`,
    server: 'webhooks',
    url: URL,
    raw: '[]',
    headers,
    status: 403,
    code: 'invalid_signature',
  })),
  ...unparseable.map(([label, raw]): Case => ({
    name: `signed but unparseable: ${label}`,
    server: 'webhooks',
    url: URL,
    raw,
    headers: signed(raw),
    status: 400,
    code: 'invalid_request',
    details: { reason: 'unparseable provider webhook' },
  })),
  ...([undefined, 'webhooks'] as const).map((server): Case => ({
    name: `over 2 MiB (${server ?? 'main'})`,
    ...(server ? { server } : {}),
    url: URL,
    raw: 'a'.repeat(2 * MIB + 100),
    status: 413,
    code: 'payload_too_large',
  })),
]
