import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Child, RssSampler } from './proc.js'

/** The Twilio account the benchmarks' Switchboard and local Twilio-speaking server share. */
export const TWILIO_BENCH = {
  accountSid: `AC${'be'.repeat(16)}`,
  authToken: 'bench-twilio-auth-token',
  messagingServiceSid: `MG${'be'.repeat(16)}`,
  name: 'twilio-us',
} as const

/** A port on 127.0.0.1 that was free a moment ago (PUBLIC_URL must name it before start). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Configuration of a Switchboard whose one provider is Twilio at `fakeUrl`. */
export function twilioSwitchboardEnv(fakeUrl: string, port: number): Record<string, string> {
  const { name, accountSid, authToken, messagingServiceSid } = TWILIO_BENCH
  return {
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    PROVIDERS: JSON.stringify([
      { name, type: 'twilio', accountSid, authToken, messagingServiceSid, baseUrl: fakeUrl },
    ]),
  }
}

/** bench/twilio-fake.ts in its own process. */
export class TwilioFakeServer {
  readonly rss: RssSampler

  private constructor(
    readonly child: Child,
    readonly url: string,
  ) {
    this.rss = new RssSampler(child.pid)
  }

  /** `callbacks`: the status words each accepted message reports, in order. */
  static async start(o: {
    maxMs: number
    callbacks: readonly string[]
    cpuProfileDir?: string
  }): Promise<TwilioFakeServer> {
    const child = new Child({
      name: 'twilio-fake',
      script: 'bench/twilio-fake.ts',
      env: {
        ...process.env,
        TWILIO_FAKE_CALLBACKS: o.callbacks.join(','),
        TWILIO_FAKE_ACCOUNT_SID: TWILIO_BENCH.accountSid,
        TWILIO_FAKE_AUTH_TOKEN: TWILIO_BENCH.authToken,
      },
      nodeArgs: o.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfileDir}`] : [],
      maxMs: o.maxMs,
    })
    try {
      const url = await child.waitFor(
        'url line',
        (l) => (l.startsWith('{"url"') ? (JSON.parse(l) as { url: string }).url : undefined),
        30_000,
      )
      return new TwilioFakeServer(child, url)
    } catch (err) {
      await child.stop(2_000)
      throw err
    }
  }

  /** Stops it; returns its peak RSS in bytes. */
  async stop(): Promise<number> {
    const peak = this.rss.stop()
    await this.child.stop()
    return peak
  }
}
