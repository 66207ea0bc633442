import { loadClientConfig } from '../config.js'
import { CliUsageError, parse } from './args.js'

interface ApiError {
  error?: { code?: string; message?: string; details?: unknown }
}

const CONNECT_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ETIMEDOUT: 'timed out',
  UND_ERR_CONNECT_TIMEOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
}

/** Why fetch could not reach the server, in words, from the cause undici attaches. */
function connectFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause
  const code = typeof cause?.code === 'string' ? cause.code : undefined
  if (code !== undefined) return CONNECT_FAILURES[code] ?? code
  return typeof cause?.message === 'string' ? cause.message : String(err)
}

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  // The CLI is a client of the HTTP API like any other application.
  const { url: base, apiKey: key } = loadClientConfig()
  if (!key) {
    throw new Error(
      'Set SWITCHBOARD_API_KEY to an API key: the admin key printed at first start, or one from `npx switchboard keys create`.',
    )
  }
  let res: Response
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? null : JSON.stringify(body),
    })
  } catch (err) {
    throw new Error(
      `could not reach Switchboard at ${base} (${connectFailure(err)}); start it with npm start or set SWITCHBOARD_URL`,
      { cause: err },
    )
  }
  const json: unknown = await res.json().catch(() => ({}))
  if (!res.ok) {
    const e = (json as ApiError).error
    const details = e?.details === undefined ? '' : ` ${JSON.stringify(e.details)}`
    throw new Error(
      `${res.status} ${e?.code ?? 'error'}: ${e?.message ?? res.statusText}${details}`,
    )
  }
  return json
}

/** `switchboard send <to> <body>` */
export async function runSend(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    from: { type: 'string' },
    type: { type: 'string' },
    'send-at': { type: 'string' },
    'status-callback': { type: 'string' },
  })
  const [to, ...words] = positionals
  if (!to || words.length === 0) throw new CliUsageError('send needs <to> and <body>')
  const msg = (await api('POST', '/v1/messages', {
    to,
    body: words.join(' '),
    ...(values.from ? { from: values.from } : {}),
    ...(values.type ? { type: values.type } : {}),
    ...(values['send-at'] ? { sendAt: values['send-at'] } : {}),
    ...(values['status-callback'] ? { statusCallback: values['status-callback'] } : {}),
  })) as { id: string; status: string; encoding: string; segments: number }
  console.log(`${msg.id}  ${msg.status}  ${msg.encoding}, ${msg.segments} segment(s)`)
  return 0
}

/** `switchboard messages list|show` */
export async function runMessages(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'show') {
    const id = rest[0]
    if (!id) throw new CliUsageError('messages show needs a message id')
    console.log(JSON.stringify(await api('GET', `/v1/messages/${encodeURIComponent(id)}`), null, 2))
    return 0
  }
  if (sub === 'list') {
    const { values } = parse(rest, {
      status: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    })
    const q = new URLSearchParams(
      Object.entries(values).filter((e): e is [string, string] => typeof e[1] === 'string'),
    )
    const page = (await api('GET', `/v1/messages?${q.toString()}`)) as {
      data: { id: string; status: string; to: string; createdAt: string; segments: number }[]
      nextCursor: string | null
    }
    for (const m of page.data)
      console.log(`${m.id}  ${m.createdAt}  ${m.status.padEnd(11)} ${m.to}`)
    if (page.nextCursor) console.log(`\nmore: --cursor ${page.nextCursor}`)
    return 0
  }
  throw new CliUsageError('messages needs a subcommand: list or show')
}
