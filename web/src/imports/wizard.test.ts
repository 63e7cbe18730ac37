import { describe, expect, it } from 'vitest'
import { parseEvent } from './events'
import { DEFAULT_SETTINGS, importQuery, mappingProblems, scopeObject, suggest, targetOptions } from './mapping'
import { FileProblem, leadingArrayItems, sampleFile } from './sample'
import { field } from './test-fields'

/** The wizard's pure parts, without a browser: the sample read, the mapping screen's rules, the SSE parser. */

const FIELDS = [field('email', true), field('firstName', true), field('externalId', true), field('department', false, true)]
const file = (text: string | Uint8Array<ArrayBuffer>, name: string) => new File([text], name)

describe('the sample of a file', () => {
  it('reads a CSV header and its first rows, with the delimiter detected', async () => {
    const s = await sampleFile(file('email;First Name\na@x.io;Ada\nb@x.io;Bob\n', 'p.csv'))
    expect(s).toMatchObject({ format: 'csv', columns: ['email', 'First Name'], whole: true, delimiter: ';' })
    expect(s.rows).toEqual([
      { email: 'a@x.io', 'First Name': 'Ada' },
      { email: 'b@x.io', 'First Name': 'Bob' },
    ])
  })

  it('refuses what the server would refuse: empty, not text, not UTF-8, duplicate columns, header only', async () => {
    const refused = async (f: File) =>
      (await sampleFile(f).then(
        () => null,
        (e: unknown) => e,
      )) as FileProblem
    expect((await refused(file('', 'a.csv'))).message).toBe('The file is empty.')
    expect((await refused(file(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0]), 'a.csv'))).message).toMatch(/not a text file/)
    expect((await refused(file(new Uint8Array([0x61, 0xff, 0x0a]), 'a.csv'))).message).toMatch(/not UTF-8/)
    expect((await refused(file('email,name,name\n1,2,3\n', 'a.csv'))).message).toMatch(/"name" appears twice \(columns 2 and 3\)/)
    expect((await refused(file('email,name\n', 'a.csv'))).message).toMatch(/header line but no rows/)
    expect(await refused(file('[]', 'a.json'))).toBeInstanceOf(FileProblem)
  })

  it('reads NDJSON and JSON arrays as records, a cut JSON array by its complete items', async () => {
    const nd = await sampleFile(file('{"email":"a@x.io","metadata":{"k":1}}\n{oops\n{"email":"b@x.io","fields":{"d":"x"}}\n', 'u.ndjson'))
    expect(nd.columns).toEqual(['email', 'metadata', 'fields'])
    expect(nd.rows[0]).toEqual({ email: 'a@x.io', metadata: '{"k":1}', fields: '' })
    expect(leadingArrayItems('[{"a":"}]"},{"b":[1,{"c":2}]},{"d":', 10)).toEqual([{ a: '}]' }, { b: [1, { c: 2 }] }])
    const arr = await sampleFile(file('[{"email":"a@x.io"}]', 'u.json'))
    expect(arr).toMatchObject({ format: 'json', columns: ['email'] })
  })
})

describe('the mapping screen', () => {
  it("suggests by the server's rule, and offers every field, metadata and ignore", () => {
    expect(suggest(['E-mail', 'first_name', 'Department', 'Shoe size'], FIELDS, 'csv')).toEqual({
      'E-mail': 'email',
      first_name: 'firstName',
      Department: 'fields.department',
      'Shoe size': null,
    })
    expect(suggest(['fields'], FIELDS, 'ndjson')).toEqual({ fields: 'fields' })
    const values = targetOptions('Shoe size', FIELDS, 'csv', null).map((o) => o.value)
    expect(values).toEqual(['', 'id', 'email', 'firstName', 'externalId', 'fields.department', 'metadata.Shoe size', 'metadata'])
  })

  it('names unmapped columns, fields taken twice, a match key no column gives, a required field left out', () => {
    const p = mappingProblems(['a', 'b', 'c'], { a: 'firstName', b: 'firstName', c: null }, FIELDS, DEFAULT_SETTINGS)
    expect(Object.keys(p.columns)).toEqual(['b', 'c'])
    expect(p.columns.c).toMatch(/unmapped=fail/)
    expect(p.match).toMatch(/No column goes to email/)
    expect(p.general).toEqual(['The required field department (fields.department) is mapped to no column: a new user needs it.'])
    expect(mappingProblems(['a'], { a: 'email' }, FIELDS, { ...DEFAULT_SETTINGS, mode: 'update' })).toEqual({
      columns: {},
      match: null,
      general: [],
    })
  })

  it('sends the whole mapping, "" for an ignored column', () => {
    const q = importQuery('csv', { a: 'email', b: '' }, { ...DEFAULT_SETTINGS, maxErrors: '5' }, true, '\t')
    expect(Object.fromEntries(q)).toEqual({
      format: 'csv',
      mode: 'upsert',
      match: 'email',
      emptyMeans: 'skip',
      atomic: 'false',
      dryRun: 'true',
      unmapped: 'fail',
      mapping: '{"a":"email","b":""}',
      maxErrors: '5',
      delimiter: 'tab',
    })
  })
})

describe('the mirror options', () => {
  const typed = [
    field('email', true),
    { ...field('active', true), type: 'boolean' },
    { ...field('level', false), type: 'integer' },
    field('dept', false),
  ]

  it('are sent only for a mirror import, the scope as a JSON object of typed values', () => {
    const keep = { ...DEFAULT_SETTINGS, scope: [{ field: 'metadata.source', value: 'hr' }], maxAbsent: '5%', absentOnErrors: true }
    expect([...importQuery('csv', { a: 'email' }, keep, false).keys()]).not.toContain('absent')
    const q = importQuery('csv', { a: 'email' }, { ...keep, absent: 'deactivate' }, false, undefined, typed)
    expect(Object.fromEntries(q)).toMatchObject({
      absent: 'deactivate',
      scope: '{"metadata.source":"hr"}',
      maxAbsent: '5%',
      absentOnErrors: 'true',
    })
    const bare = importQuery('csv', { a: 'email' }, { ...DEFAULT_SETTINGS, absent: 'delete' }, false)
    expect(Object.fromEntries(bare)).toMatchObject({ absent: 'delete', absentOnErrors: 'false' })
    expect([...bare.keys()]).not.toContain('scope')
    expect([...bare.keys()]).not.toContain('maxAbsent')
  })

  it('types each scope value by its field: numbers, booleans, text (metadata too); rows with no field are left out', () => {
    expect(
      scopeObject(
        [
          { field: ' fields.level ', value: '3' },
          { field: 'active', value: 'true' },
          { field: 'fields.dept', value: ' Navy ' },
          { field: 'metadata.n', value: '7' },
          { field: 'fields.level2', value: 'x' },
          { field: '', value: 'ignored' },
        ],
        typed,
      ),
    ).toEqual({ 'fields.level': 3, active: true, 'fields.dept': 'Navy', 'metadata.n': '7', 'fields.level2': 'x' })
    expect(scopeObject([{ field: 'fields.level', value: 'high' }], typed)).toEqual({ 'fields.level': 'high' })
    expect(scopeObject([{ field: ' ', value: '' }], typed)).toBeNull()
  })
})

describe('server-sent events', () => {
  it('parses event, data lines and comments', () => {
    expect(parseEvent('event: progress\ndata: {"a":1}')).toEqual({ name: 'progress', data: '{"a":1}' })
    expect(parseEvent(': keep-alive')).toBeNull()
    expect(parseEvent('data: a\r\ndata: b')).toEqual({ name: 'message', data: 'a\nb' })
  })
})
