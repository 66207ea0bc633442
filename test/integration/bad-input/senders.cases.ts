/** Sender ids (`from`) that are neither a number, a short code nor an alphanumeric id. */
import { send, show, type Case } from './case.js'

const INVALID_SENDERS = [
  'ABCDEFGHIJKL',
  'AB!@#',
  '12',
  '123456789',
  ' ',
  '   ',
  '\t\n',
  '📱',
  'Ab_c',
  'A-B',
  'ÄBC',
  'A\u0000',
  'ABC\nDEF',
  'Sender Name!',
  // Trimmed first: what is left is still too long or has no letter.
  ' ABCDEFGHIJKL ',
  '  12  ',
]

export const cases: Case[] = [
  ...INVALID_SENDERS.map((from): Case => ({
    name: `from ${show(from)}`,
    ...send({ from }),
    status: 422,
    code: 'invalid_sender',
    details: { field: 'from' },
  })),
  ...['+1', '+', '+999123456', ' +1 ', '\t+999123456 '].map((from): Case => ({
    name: `from ${show(from)}`,
    ...send({ from }),
    status: 422,
    code: 'invalid_phone_number',
    details: { field: 'from' },
  })),
  {
    name: 'from of 33 characters',
    ...send({ from: 'a'.repeat(33) }),
    status: 422,
    code: 'validation_failed',
    at: { path: '/from' },
  },
]
