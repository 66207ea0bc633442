import assert from 'node:assert/strict'
import { test } from 'node:test'
import { maskUserInfo, splitUserInfo } from './callback-url.js'

test('the password of a URL is masked wherever it is shown; the rest stays as given', () => {
  const cases: [string, string][] = [
    ['https://user:s3cret@hooks.example.com/cb?a=1', 'https://user:****@hooks.example.com/cb?a=1'],
    ['https://user:p@ss@hooks.example.com/x', 'https://user:****@hooks.example.com/x'],
    ['https://:s3cret@hooks.example.com', 'https://:****@hooks.example.com'],
    // A user name alone is then the credential (an API token).
    ['https://tok_123@hooks.example.com/', 'https://****@hooks.example.com/'],
    ['https://hooks.example.com/a@b?c=d@e#f@g', 'https://hooks.example.com/a@b?c=d@e#f@g'],
    ['https://hooks.example.com/cb', 'https://hooks.example.com/cb'],
  ]
  for (const [url, shown] of cases) {
    assert.equal(maskUserInfo(url), shown, url)
    assert.doesNotMatch(maskUserInfo(url), /s3cret|p@ss|tok_123/)
  }
  assert.equal(maskUserInfo(null), null)
})

test('user info becomes a Basic authorization header and leaves the URL requested', () => {
  assert.deepEqual(splitUserInfo('https://us%20er:p%40ss@hooks.example.com:8443/cb?x=1'), {
    url: 'https://hooks.example.com:8443/cb?x=1',
    authorization: `Basic ${Buffer.from('us er:p@ss').toString('base64')}`,
  })
  assert.deepEqual(splitUserInfo('https://token@hooks.example.com/'), {
    url: 'https://hooks.example.com/',
    authorization: `Basic ${Buffer.from('token:').toString('base64')}`,
  })
  assert.deepEqual(splitUserInfo('https://hooks.example.com/a@b'), {
    url: 'https://hooks.example.com/a@b',
    authorization: undefined,
  })
})
