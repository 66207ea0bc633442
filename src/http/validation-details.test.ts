import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Type, type TSchema } from '@sinclair/typebox'
import { Ajv } from 'ajv'
import type { FastifySchemaValidationError } from 'fastify'

import { validationDetails } from './validation-details.js'

/** The details the error handler would answer for `value` against `schema`. */
function details(schema: TSchema, value: unknown) {
  const validate = new Ajv({ allErrors: false, strict: false }).compile(schema)
  assert.equal(validate(value), false)
  return validationDetails(validate.errors as FastifySchemaValidationError[], 'body')
}

const expectedType = [
  {
    in: 'body',
    path: '/type',
    message: 'must be one of: transactional, marketing',
    allowed: ['transactional', 'marketing'],
  },
]

test('a union of constants and a schema enum both list the allowed values once', () => {
  const union = Type.Object({
    type: Type.Union([Type.Literal('transactional'), Type.Literal('marketing')]),
  })
  const enumSchema = Type.Object({
    type: Type.Unsafe<string>({ type: 'string', enum: ['transactional', 'marketing'] }),
  })
  assert.deepEqual(details(union, { type: 'promo' }), expectedType)
  assert.deepEqual(details(enumSchema, { type: 'promo' }), expectedType)
})

test('a union of types names them; a member with the right type gives its own error', () => {
  const value = Type.Union([Type.String({ maxLength: 3 }), Type.Number(), Type.Null()])
  const schema = Type.Object({ v: value })
  assert.deepEqual(details(schema, { v: {} }), [
    { in: 'body', path: '/v', message: 'must be string, number or null' },
  ])
  assert.deepEqual(details(schema, { v: 'abcd' }), [
    { in: 'body', path: '/v', message: 'must NOT have more than 3 characters' },
  ])
})

test('errors outside a union pass through, unknown properties named', () => {
  const schema = Type.Object({ a: Type.String() }, { additionalProperties: false })
  assert.deepEqual(details(schema, { a: 'x', b: 1 }), [
    { in: 'body', path: '', message: 'must NOT have additional properties', property: 'b' },
  ])
})
