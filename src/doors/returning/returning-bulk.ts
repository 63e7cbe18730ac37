import multipart, { type Multipart, type MultipartFile } from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { errors, type FieldError, RollcallError } from '../../core/errors.js'
import type { RowErrorCode } from '../../core/row-errors.js'
import type { FieldDefinition } from '../../core/types.js'
import { detectDelimiter, parseCsv } from '../../engine/parsers/csv.js'
import { csvMapper, MappingError } from '../../engine/parsers/mapping.js'
import type { Services } from '../../jobs/services.js'
import { principalOf } from '../../http/auth.js'
import { DEFAULT_IMPORT_OPTIONS, type ImportOptions } from '../../core/jobs.js'
import { communities } from './returning-community.js'
import { canonicalOf, communityIdOf, PLATFORM_FIELDS } from './returning-map.js'

/** `xp_op` holds add | subtract | overwrite for the `xp` column of the same row. */
export const OP_SUFFIX = '_op'
/** The header line must end within this many bytes: anything longer is not a Returning.AI CSV. */
const HEADER_MAX_BYTES = 64 * 1024
/** The multipart text fields these endpoints take besides the `data` file. */
const TEXT_FIELDS: ReadonlySet<string> = new Set(['communityId'])

/** Types a browser, curl or a spreadsheet program sends a CSV file with. */
const CSV_TYPES: ReadonlySet<string> = new Set([
  'text/csv',
  'application/csv',
  'text/x-csv',
  'application/x-csv',
  'text/comma-separated-values',
  'application/vnd.ms-excel',
  'text/plain',
])
/** Types that say nothing about the content: the content decides. */
const OPAQUE_TYPES: ReadonlySet<string> = new Set(['', 'application/octet-stream', 'binary/octet-stream'])

const KINDS = {
  update: { url: '/apis/v1/users/bulk-update', mode: 'update', word: 'update', operationId: 'returningBulkUpdate' },
  import: { url: '/apis/v1/users/bulk-import', mode: 'upsert', word: 'import', operationId: 'returningBulkImport' },
} as const

/** The documented 200 answer, word for word. */
export function queuedAnswer(word: 'update' | 'import') {
  return {
    status: 'success',
    message: `Bulk ${word} user process is queued`,
    data: { message: `Bulk ${word} user process is queued. You can check in Api Log ( community settings )` },
  }
}

const Queued = Type.Object({ status: Type.String(), message: Type.String(), data: Type.Object({ message: Type.String() }) })

const dataError = (message: string, code: RowErrorCode = 'invalid_file') => errors.validation([{ field: 'data', code, message }])

/**
 * A Returning.AI CSV header → the import's explicit column mapping (column → Rollcall field path):
 * each column names a field as the filter does (`canonicalOf`: `email`, `first_name`/`firstname`,
 * `xp`, a custom field key …); `<column>_op` beside its value column is an operator column, read by
 * the engine's mapper (`opSuffix`). Every problem with the header is a 400 before anything is
 * stored, named by the file's own column names; the engine's mapper checks the rest (duplicate
 * columns, two columns for one field) with the same rules the job will apply.
 */
export function columnMapping(header: string[], definitions: readonly FieldDefinition[]): Record<string, string> {
  const custom = new Set(definitions.filter((d) => !d.builtIn).map((d) => d.key))
  const present = new Set(header)
  const mapping: Record<string, string> = {}
  const unknown: string[] = []
  const orphanOps: string[] = []
  for (const h of header) {
    if (h === '') continue
    if (h.endsWith(OP_SUFFIX) && h.length > OP_SUFFIX.length && !custom.has(h)) {
      if (!present.has(h.slice(0, -OP_SUFFIX.length))) orphanOps.push(h)
      continue
    }
    const path = canonicalOf(h)
    if (path.startsWith('fields.') && !custom.has(path.slice(7))) unknown.push(h)
    else mapping[h] = path
  }
  const list = (names: string[]) => names.map((n) => `'${n}'`).join(', ')
  const problems: FieldError[] = []
  const problem = (code: RowErrorCode, message: string) => problems.push({ field: 'data', code, message })
  if (present.has('')) problem('invalid_header', 'a column of the header has no name')
  if (unknown.length === 1) problem('unknown_column', `column ${list(unknown)} names no user field of this community`)
  if (unknown.length > 1) problem('unknown_column', `columns ${list(unknown)} name no user field of this community`)
  for (const op of orphanOps) problem('unknown_column', `operator column '${op}' has no value column '${op.slice(0, -OP_SUFFIX.length)}'`)
  if (!Object.values(mapping).includes('email'))
    problem('missing_column', "the CSV needs an 'email' column: rows are matched to users by email")
  if (problems.length) throw errors.validation(problems)
  try {
    csvMapper(header, definitions, { mapping, unmapped: 'fail', emptyMeans: 'skip', opSuffix: OP_SUFFIX })
  } catch (e) {
    if (e instanceof MappingError) throw dataError(e.message, 'invalid_header')
    throw e
  }
  return mapping
}

/** A file that says it is something else (an image, a JSON or Excel file) is refused before it is read. */
function checkDeclaredType(file: MultipartFile): void {
  const type = (file.mimetype ?? '').split(';')[0].trim().toLowerCase()
  const ext = /\.([A-Za-z0-9]{1,10})$/.exec(file.filename ?? '')?.[1]?.toLowerCase()
  if (ext === 'csv' || ext === 'txt' || CSV_TYPES.has(type)) return
  if (ext === undefined && OPAQUE_TYPES.has(type)) return
  throw new RollcallError(
    'unsupported_media_type',
    `The 'data' file must be a CSV file; got ${file.filename ? `'${file.filename}'` : 'a file'}${type ? ` of type ${type}` : ''}`,
  )
}

/**
 * Reads the file up to the end of its header line (at most 64 KB) without losing a byte: the
 * chunks read are handed back to be stored first. Binary content, invalid UTF-8 or a header that
 * is not CSV is a 400 here, before anything is stored.
 */
async function readHeader(it: AsyncIterator<Buffer>): Promise<{ head: Buffer[]; header: string[]; delimiter: string }> {
  const head: Buffer[] = []
  let size = 0
  let ended = false
  for (;;) {
    const r = await it.next()
    if (r.done) {
      ended = true
      break
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value)
    head.push(chunk)
    size += chunk.length
    if (chunk.includes(0x0a) || chunk.includes(0x0d) || size > HEADER_MAX_BYTES) break
  }
  const sample = Buffer.concat(head).subarray(0, HEADER_MAX_BYTES)
  if (sample.length === 0) throw dataError('the file is empty', 'empty')
  if (sample.subarray(0, 8192).includes(0)) throw dataError('the file is not a CSV file (it holds binary data)')
  // The header ends at the first line break: LF, CRLF or CR alone (old Mac files).
  const nl = lineBreakAt(sample, 'first')
  if (nl === -1 && !ended)
    throw dataError(`the first line is longer than ${HEADER_MAX_BYTES / 1024} KB: the file is not a CSV file with a header`)
  let line: string
  try {
    line = new TextDecoder('utf-8', { fatal: true }).decode(nl === -1 ? sample : sample.subarray(0, nl))
  } catch {
    throw dataError('the header line is not valid UTF-8 text')
  }
  line = line.replace(/^\uFEFF/, '').replace(/\r$/, '')
  const lastNl = lineBreakAt(sample, 'last')
  const delimiter = detectDelimiter(new TextDecoder().decode(lastNl === -1 ? sample : sample.subarray(0, lastNl)).replace(/^\uFEFF/, ''))
  let header: string[] | null = null
  for await (const rec of parseCsv(one(Buffer.from(line)), { delimiter, quote: '"' })) {
    if (!rec.cells) throw dataError(`the header line is not valid CSV: ${rec.error}`, 'invalid_header')
    header = rec.cells.map((c) => c.trim())
    break
  }
  if (!header) throw dataError('the file has no header line', 'invalid_header')
  return { head, header, delimiter }
}

function lineBreakAt(b: Buffer, which: 'first' | 'last'): number {
  const at = [0x0a, 0x0d].map((c) => (which === 'first' ? b.indexOf(c) : b.lastIndexOf(c))).filter((i) => i !== -1)
  return at.length === 0 ? -1 : which === 'first' ? Math.min(...at) : Math.max(...at)
}

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b
}

/** The stored input: the chunks read for the header, then the rest of the file as it arrives. */
async function* rest(head: Buffer[], it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head
  for (;;) {
    const r = await it.next()
    if (r.done) return
    yield r.value
  }
}

/**
 * `POST /apis/v1/users/bulk-update` and `POST /apis/v1/users/bulk-import`: the CSV in multipart
 * field `data` becomes an import job (channel `returning`, matched by email; update mode, or upsert
 * for the import), and the answer is the documented "queued" message. The job's progress, counts
 * and row errors are in the Api Log (returning-apilog.ts); a `Location` header names its entry.
 */
export const returningBulkRoutes = (s: Services) => async (root: FastifyInstance) => {
  const { community, fieldsOf } = communities(s)
  const prefix = root.prefix

  await root.register(async (up) => {
    // In this scope only: multipart is streamed, and any other body is left unread so the
    // handler can answer it with a precise 415 instead of a JSON parse error.
    up.removeAllContentTypeParsers()
    up.addContentTypeParser('*', (_req, payload, done) => done(null, payload))
    await up.register(multipart, { limits: { fileSize: Number.MAX_SAFE_INTEGER, files: 1, fields: 10 } })
    const app = up.withTypeProvider<TypeBoxTypeProvider>()

    for (const kind of Object.values(KINDS)) {
      app.post(
        kind.url,
        {
          config: { scope: 'write', streamBody: true, rowsCheckedPerRow: true },
          schema: {
            operationId: kind.operationId,
            tags: ['returning'],
            summary: `Returning.AI: queue a bulk ${kind.word} of users from a CSV file`,
            description:
              'multipart/form-data with the CSV in field `data`' +
              (kind.word === 'import' ? " and, optionally, `communityId` (it must name the key's community)" : '') +
              '. Rows match users by `email`' +
              (kind.word === 'import' ? '; missing users are created.' : '; an unknown email fails its row.') +
              ' `<field>_op` columns hold add, subtract or overwrite for numeric fields. The answer comes once the file is stored; the job then runs in the background (see the Api Log).',
            response: { 200: Queued },
          },
        },
        async (req, reply) => {
          const dir = await community(req)
          if (!req.isMultipart())
            throw new RollcallError('unsupported_media_type', "Send multipart/form-data with the CSV file in field 'data'")
          const parts = req.parts()[Symbol.asyncIterator]()
          const fields: Record<string, string> = {}
          let file: MultipartFile | null = null
          /** A part other than the first `data` file: a known text field, or a 400. */
          const take = async (part: Multipart): Promise<MultipartFile | null> => {
            if (part.type === 'field') {
              if (!TEXT_FIELDS.has(part.fieldname))
                throw errors.validation([
                  {
                    field: part.fieldname,
                    code: 'unknown_field',
                    message:
                      "unexpected field; send the CSV file as 'data'" +
                      (kind.word === 'import' ? " and the community as 'communityId'" : ''),
                  },
                ])
              fields[part.fieldname] = String(part.value)
              return null
            }
            if (part.fieldname === 'data' && !file) return part
            part.file.resume()
            throw errors.validation([
              {
                field: part.fieldname,
                code: 'unknown_field',
                message: part.fieldname === 'data' ? 'send one file only' : "unexpected file; send the CSV file as 'data'",
              },
            ])
          }
          while (!file) {
            const r = await parts.next()
            if (r.done) break
            file = await take(r.value)
          }
          if (!file) throw dataError("upload the CSV file in field 'data'", 'required')
          if (fields.communityId !== undefined) await community(req, fields.communityId)
          checkDeclaredType(file)
          const it = file.file[Symbol.asyncIterator]() as AsyncIterator<Buffer>
          const { head, header, delimiter } = await readHeader(it)
          const mapping = columnMapping(header, await fieldsOf(dir))
          const options: ImportOptions = {
            ...DEFAULT_IMPORT_OPTIONS,
            mode: kind.mode,
            match: ['email'],
            mapping,
            unmapped: 'fail',
            delimiter,
            channel: 'returning',
            opSuffix: OP_SUFFIX,
            fileName: file.filename || null,
            needsFields: PLATFORM_FIELDS,
          }
          const job = await s.jobs.upload(principalOf(req), dir, {
            body: rest(head, it),
            format: 'csv',
            options,
            requestId: String(req.id),
            // Fields sent after the file: the job is queued only if they are right too.
            beforeQueue: async () => {
              for (;;) {
                const r = await parts.next()
                if (r.done) break
                await take(r.value)
              }
              if (fields.communityId !== undefined) await community(req, fields.communityId)
            },
          })
          return reply
            .header('location', `${prefix}/apis/v1/communities/${communityIdOf(dir)}/api-logs/${job.id}`)
            .send(queuedAnswer(kind.word))
        },
      )
    }
  })
}
