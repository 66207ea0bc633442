/**
 * Metadata limits: 50 keys of up to 64 characters, string values of up to 1,024 characters,
 * and at most 4,096 bytes of UTF-8 once serialised (multi-byte characters count as bytes).
 */
import { send, type Case } from './case.js'

const failed = { status: 422, code: 'validation_failed' } as const
const keys = (n: number, value: (i: number) => unknown) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(i)]))
const tooLarge = { field: 'metadata', reason: 'larger than 4096 bytes' }

export const cases: Case[] = [
  {
    name: '51 keys',
    ...send({ metadata: keys(51, (i) => i) }),
    ...failed,
    at: { path: '/metadata' },
  },
  {
    name: 'a key of 65 characters',
    ...send({ metadata: { ['k'.repeat(65)]: 1 } }),
    ...failed,
    at: { path: '/metadata' },
  },
  {
    name: 'a value of 1,025 characters',
    ...send({ metadata: { a: 'v'.repeat(1025) } }),
    ...failed,
    at: { path: '/metadata/a', message: 'must NOT have more than 1024 characters' },
  },
  {
    name: 'a value of 1,025 euro signs',
    ...send({ metadata: { a: '€'.repeat(1025) } }),
    ...failed,
    at: { path: '/metadata/a' },
  },
  {
    name: 'a nested object',
    ...send({ metadata: { a: { b: 1 } } }),
    ...failed,
    at: { path: '/metadata/a' },
  },
  {
    name: '50 values of 100 characters (5,000 bytes)',
    ...send({ metadata: keys(50, () => 'v'.repeat(100)) }),
    ...failed,
    details: tooLarge,
  },
  {
    name: '4 values of 1,000 euro signs (4,000 characters, 12,000 bytes)',
    ...send({ metadata: keys(4, () => '€'.repeat(1000)) }),
    ...failed,
    details: tooLarge,
  },
  {
    name: '2 values of 700 € (1,400 characters, 4,200 bytes)',
    ...send({ metadata: keys(2, () => '€'.repeat(700)) }),
    ...failed,
    details: tooLarge,
  },
  {
    name: 'one value of 1,024 emoji (4,096 bytes before the JSON around it)',
    ...send({ metadata: { a: '😀'.repeat(1024) } }),
    ...failed,
    details: tooLarge,
  },
]
