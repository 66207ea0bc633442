// Risk: the CLI and the server process misbehave outside tests' in-process setup: first-start
// key, key management, sending through the API, graceful shutdown on SIGTERM.
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { after, before, describe, test } from 'node:test'
import { freshDatabase } from '../support/harness.js'
import { freePort } from '../support/processes.js'

const CLI = ['--import', 'tsx', 'src/cli/run.ts']

describe('switchboard CLI', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>
  let server: ChildProcess | undefined
  let env: NodeJS.ProcessEnv
  let adminKey = ''
  let startOutput = ''

  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [...CLI, ...args], {
      env: { ...env, ...extra },
      encoding: 'utf8',
      timeout: 60_000,
    })

  before(async () => {
    db = await freshDatabase()
    const port = await freePort()
    env = {
      ...process.env,
      ...db.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SWITCHBOARD_URL: `http://127.0.0.1:${port}`,
    }
    server = spawn(process.execPath, [...CLI, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    adminKey = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no key printed: ${out}`)), 30_000)
      server?.stdout?.on('data', (c: Buffer) => {
        out += c.toString()
        const m = /sb_live_[0-9A-Za-z]{38}/.exec(out)
        if (m && /whsec_\S+/.test(out) && /Dashboard password: \S+\n/.test(out)) {
          clearTimeout(timer)
          startOutput = out
          resolve(m[0])
        }
      })
    })
  })

  after(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL')
    await db.drop()
  })

  test('first start prints an admin key once; keys create/list/revoke work', () => {
    // The command it suggests works as written from a clone.
    assert.match(startOutput, /Create narrower keys with: npx switchboard keys create --name/)
    const created = cli([
      'keys',
      'create',
      '--name',
      'app',
      '--scopes',
      'messages:write,messages:read',
    ])
    assert.equal(created.status, 0, created.stderr)
    const key = /sb_live_[0-9A-Za-z]{38}/.exec(created.stdout)?.[0]
    assert.ok(key)
    const id = /key_[0-9A-Z]{26}/.exec(created.stdout)?.[0]
    assert.ok(id)
    const listed = cli(['keys', 'list'])
    assert.equal(listed.status, 0)
    assert.match(listed.stdout, /admin \(first start\)/)
    assert.ok(!listed.stdout.includes(key), 'secrets are never listed')
    assert.equal(cli(['keys', 'revoke', id]).status, 0)
    assert.match(cli(['keys', 'list']).stdout, /revoked/)
    const bad = cli(['keys', 'create', '--name', 'x', '--scopes', 'everything'])
    assert.equal(bad.status, 2)
  })

  test('first start prints the webhook secret beside the admin key; webhooks secret prints it', () => {
    const printed = /whsec_\S+/.exec(startOutput)?.[0]
    assert.ok(printed)
    const shown = cli(['webhooks', 'secret'])
    assert.equal(shown.status, 0, shown.stderr)
    assert.equal(shown.stdout.trim(), printed)
    const rotated = cli(['webhooks', 'rotate', '--overlap', '60'])
    assert.equal(rotated.status, 0, rotated.stderr)
    const fresh = rotated.stdout.trim()
    assert.match(fresh, /^whsec_/)
    assert.notEqual(fresh, printed)
    assert.match(rotated.stderr, /previous secret also signs until/)
    assert.equal(cli(['webhooks', 'secret']).stdout.trim(), fresh)
    const configured = cli(['webhooks', 'rotate'], { WEBHOOK_SECRET: printed })
    assert.equal(configured.status, 1)
    assert.match(configured.stderr, /WEBHOOK_SECRET is set/)
    assert.match(cli(['webhooks', 'endpoints']).stdout, /No webhook endpoints/)
  })

  test('first start prints the dashboard admin user; users create reads or generates a password', async () => {
    const password = /^Dashboard password: (\S+)$/m.exec(startOutput)?.[1]
    assert.match(startOutput, /^Dashboard user: admin$/m)
    assert.ok(password)
    const login = (email: string, pw: string) =>
      fetch(`${env.SWITCHBOARD_URL}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: pw }),
      })
    const admin = await login('admin', password)
    assert.equal(admin.status, 200)
    assert.deepEqual(((await admin.json()) as { user: unknown }).user, {
      email: 'admin',
      role: 'admin',
    })
    const piped = spawnSync(
      process.execPath,
      [...CLI, 'users', 'create', '--email', 'Agent@Example.com', '--role', 'agent'],
      { env, encoding: 'utf8', timeout: 60_000, input: 'correct horse battery\n' },
    )
    assert.equal(piped.status, 0, piped.stderr)
    assert.doesNotMatch(piped.stdout, /password/i)
    assert.equal((await login('agent@example.com', 'correct horse battery')).status, 200)
    const generated = cli(['users', 'create', '--email', 'v@example.com', '--role', 'viewer'])
    assert.equal(generated.status, 0, generated.stderr)
    const pw = /Generated password \(shown only once\): (\S+)/.exec(generated.stdout)?.[1]
    assert.ok(pw)
    assert.equal((await login('v@example.com', pw)).status, 200)
    assert.equal(cli(['users', 'create', '--email', 'v@example.com', '--role', 'viewer']).status, 1)
    assert.equal(cli(['users', 'create', '--email', 'x@example.com', '--role', 'root']).status, 2)
    // The first-start user is not created again on a later start (it exists).
    assert.equal((startOutput.match(/Dashboard user:/g) ?? []).length, 1)
  })

  test('send and messages show go through the API', async () => {
    const sent = cli(['send', '+14155550100', 'hi', 'there'], { SWITCHBOARD_API_KEY: adminKey })
    assert.equal(sent.status, 0, sent.stderr)
    const id = /msg_[0-9A-Z]{26}/.exec(sent.stdout)?.[0]
    assert.ok(id)
    let shown = ''
    for (let i = 0; i < 100 && !shown.includes('"delivered"'); i++) {
      await new Promise((r) => setTimeout(r, 100))
      shown = cli(['messages', 'show', id], { SWITCHBOARD_API_KEY: adminKey }).stdout
    }
    assert.match(shown, /"status": "delivered"/)
    const list = cli(['messages', 'list', '--status', 'delivered'], {
      SWITCHBOARD_API_KEY: adminKey,
    })
    assert.ok(list.stdout.includes(id))
    const invalid = cli(['send', '+1415', 'x'], { SWITCHBOARD_API_KEY: adminKey })
    assert.equal(invalid.status, 1)
    assert.match(invalid.stderr, /invalid_phone_number/)
  })

  test('privacy export and erase work on the database and are audited as cli', () => {
    const sent = cli(['send', '+14155550166', 'cli erasable'], { SWITCHBOARD_API_KEY: adminKey })
    assert.equal(sent.status, 0, sent.stderr)
    const exported = cli(['privacy', 'export', '+14155550166'])
    assert.equal(exported.status, 0, exported.stderr)
    const data = JSON.parse(exported.stdout) as { data: { messages: { body: string }[] } }
    assert.deepEqual(
      data.data.messages.map((m) => m.body),
      ['cli erasable'],
    )
    const erased = cli(['privacy', 'erase', '+14155550166'])
    assert.equal(erased.status, 0, erased.stderr)
    assert.match(erased.stdout, /"target": "phone:[0-9a-f]{64}"/)
    const after = JSON.parse(cli(['privacy', 'export', '+14155550166']).stdout) as typeof data
    assert.deepEqual(after.data.messages, [])
    assert.equal(cli(['privacy', 'export', 'nope']).status, 1)
    assert.equal(cli(['privacy', 'wipe', '+14155550166']).status, 2)
  })

  test('an API command that cannot reach the server names the URL it tried and the setting', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const r = cli(['messages', 'list'], { SWITCHBOARD_URL: closed, SWITCHBOARD_API_KEY: adminKey })
    assert.equal(r.status, 1)
    assert.equal(
      r.stderr.trim(),
      `could not reach Switchboard at ${closed} (connection refused); start it with npm start or set SWITCHBOARD_URL`,
    )
    const invalid = cli(['send', '+14155550100', 'hi'], {
      SWITCHBOARD_URL: 'localhost:3000',
      SWITCHBOARD_API_KEY: adminKey,
    })
    assert.equal(invalid.status, 78)
    assert.match(invalid.stderr, /SWITCHBOARD_URL must be an http:\/\/ or https:\/\/ URL/)
    const noKey = cli(['messages', 'list'], { SWITCHBOARD_API_KEY: '' })
    assert.equal(noKey.status, 1)
    assert.match(noKey.stderr, /SWITCHBOARD_API_KEY.*admin key printed at first start/)
  })

  test('a configuration error lists every problem and exits 78', () => {
    const r = cli(['migrate'], { PORT: 'x', MAX_SEGMENTS: '-1' })
    assert.equal(r.status, 78)
    assert.match(r.stderr, /PORT/)
    assert.match(r.stderr, /MAX_SEGMENTS/)
  })

  test('a second server on a port in use exits with an error instead of hanging', () => {
    // The first server holds the port; this one starts its background thread, fails to
    // listen, and must stop that thread again so the process can exit.
    const r = cli(['start'])
    assert.equal(r.error, undefined, 'exited before the timeout')
    assert.notEqual(r.status, 0)
    assert.match(r.stderr + r.stdout, /EADDRINUSE/)
  })

  test('a server started with V8 flags starts its background thread', async () => {
    // Flags such as --max-old-space-size are not accepted in a Worker's explicit execArgv.
    const port = await freePort()
    const db2 = await freshDatabase()
    const child = spawn(process.execPath, ['--max-old-space-size=512', ...CLI, 'start'], {
      env: { ...env, ...db2.env, PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      let out = ''
      const outcome = await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve(`timeout: ${out}`), 30_000)
        const onData = (c: Buffer) => {
          out += c.toString()
          if (out.includes('switchboard listening')) {
            clearTimeout(timer)
            resolve('listening')
          }
        }
        child.stdout.on('data', onData)
        child.stderr.on('data', onData)
        child.on('exit', (code) => {
          clearTimeout(timer)
          resolve(`exited ${code}: ${out}`)
        })
      })
      assert.equal(outcome, 'listening')
    } finally {
      child.kill('SIGKILL')
      await db2.drop()
    }
  })

  test('SIGTERM shuts down gracefully with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) =>
      server?.on('exit', (code) => resolve(code)),
    )
    server?.kill('SIGTERM')
    assert.equal(await exited, 0)
  })
})
