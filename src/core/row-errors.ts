/**
 * Every code a field error can carry (a row of a bulk request or an import, or a field of a
 * request body), each with what it means. The README's list is checked against this one.
 */
export const ROW_ERROR_CODES = {
  invalid_type: 'the value has the wrong JSON type',
  invalid_format: 'the text is not in the form the field needs (an email, a URL, a date…)',
  invalid_value: 'the value is not one the field allows (an enum value, a country code…)',
  invalid: 'the value breaks a rule of its field or option',
  invalid_json: 'a cell meant to hold JSON does not',
  invalid_operation: 'an add or subtract on a field that is not a number, or an unknown operation',
  invalid_character: 'text holds a character that cannot be stored (NUL, a lone surrogate, a control character in a key)',
  too_long: 'longer than the field allows',
  too_short: 'shorter than the field allows',
  out_of_range: 'a number beyond what the field (or a JSON number) holds exactly',
  too_deep: 'nested deeper than the input limit',
  unknown_field: 'no such field in the directory',
  forbidden_key: 'a key that may not be used (`__proto__`)',
  reserved: 'a name reserved for a built-in',
  read_only: 'a field the server owns, or one that cannot change (a user id)',
  required: 'a required field is missing',
  mismatch: 'two values that must agree do not',
  empty: 'an empty input where content is needed',
  empty_row: 'the row sets no field',
  malformed_row: 'the row could not be read (a CSV quote left open, a line that is not JSON)',
  invalid_file: 'an uploaded file is not one the endpoint reads (binary, no header line, not UTF-8)',
  invalid_header: 'the header line of a CSV file cannot be read or mapped',
  missing_column: 'a column the endpoint needs is not in the header',
  unknown_column: 'a column of the header names nothing the endpoint knows',
  unsupported: 'a feature this door or format does not support',
  missing_match_key: 'the row has none of the keys it could be matched by',
  user_exists: 'create: a user with this key exists already',
  user_not_found: 'update: no user with this key',
  not_unique: 'another user holds this value of a unique field',
  not_found: 'what the row names does not exist',
  version_mismatch: 'the user changed since the version the row expects',
  duplicate_in_input: 'a warning: another row of the input names the same user (both apply, in order)',
  not_processed: 'the run stopped (maxErrors) before this row',
  rolled_back: 'an atomic run failed elsewhere, so this row was not written',
  conflict: 'apply or revert: the field changed since, and was left as it is',
} as const

export type RowErrorCode = keyof typeof ROW_ERROR_CODES

/** Codes meaning "another user already holds this" rather than "this input is wrong". */
const CONFLICT_CODES: ReadonlySet<string> = new Set<RowErrorCode>(['user_exists', 'not_unique'])

/** Whether a field error says another user holds the value (a 409/422 in most doors) rather than bad input. */
export const isConflict = (e: { code: string }): boolean => CONFLICT_CODES.has(e.code)
