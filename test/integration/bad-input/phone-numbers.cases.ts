/** Phone numbers that are not valid destinations, as `to` and `from` of a send and as filters. */
import { pct, send, show, type Case } from './case.js'

/** Not dialable: letters, wrong lengths, unassigned ranges, other digit scripts, symbols. */
const BAD_NUMBERS = [
  'abc',
  '+1415555abcd',
  '+1',
  '+',
  '++14155550100',
  '+1234567890123456789',
  '+999123456',
  '4155550100',
  '14155550100',
  '+1 555 555 5555',
  '+1 000 000 0000',
  '+882 1234 5678',
  '+447911',
  '+44 20 7946 0958 0',
  '+00 14155550100',
  '📱',
  '+١٤١٥٥٥٥٠١٠٠',
  '+１４１５５５５０１００',
  '   ',
  '+1-415-555-0100 ext 5',
  '+14155550100;',
  '+1\n4155550100',
  '+1415555\u00000',
  '1-800-FLOWERS',
  "'; DROP TABLE messages; --",
]
/** Longer than the schema's 32 characters: refused before parsing. */
const TOO_LONG = ['a'.repeat(33), `+${'1'.repeat(40)}`]

const invalid = (field: 'to' | 'from') =>
  ({ status: 422, code: 'invalid_phone_number', details: { field } }) as const

export const cases: Case[] = [
  ...BAD_NUMBERS.flatMap((n): Case[] => [
    { name: `send to ${show(n)}`, ...send({ to: n }), ...invalid('to') },
    {
      name: `list to ${show(n)}`,
      url: `/v1/messages?to=${pct(n)}`,
      key: 'read',
      ...invalid('to'),
    },
  ]),
  ...BAD_NUMBERS.filter((n) => n.startsWith('+') && !n.includes('\u0000')).flatMap((n): Case[] => [
    { name: `send from ${show(n)}`, ...send({ from: n }), ...invalid('from') },
    {
      name: `list from ${show(n)}`,
      url: `/v1/messages?from=${pct(n)}`,
      key: 'read',
      ...invalid('from'),
    },
  ]),
  ...TOO_LONG.map((to): Case => ({
    name: `send to of ${to.length} characters`,
    ...send({ to }),
    status: 422,
    code: 'validation_failed',
    at: { path: '/to' },
  })),
  {
    name: 'send to ""',
    ...send({ to: '' }),
    status: 422,
    code: 'validation_failed',
    at: { path: '/to' },
  },
  {
    name: 'list to of 33 characters',
    url: `/v1/messages?to=${'1'.repeat(33)}`,
    key: 'read',
    status: 422,
    code: 'validation_failed',
    at: { path: '/to', in: 'querystring' },
  },
  { name: 'list to=', url: '/v1/messages?to=', key: 'read', ...invalid('to') },
]
