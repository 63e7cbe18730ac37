import type { Field } from '../api'

/** A field as the server lists it, for the wizard's tests: a plain string field unless told otherwise. */
export const field = (key: string, builtIn: boolean, required = false): Field => ({
  key,
  label: key,
  type: 'string',
  required,
  unique: false,
  maxLength: null,
  pattern: null,
  enumValues: null,
  builtIn,
})
