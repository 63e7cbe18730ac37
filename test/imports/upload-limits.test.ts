import { statSync } from 'node:fs'
import { request } from 'node:http'
import { Readable } from 'node:stream'
import { expect, it } from 'vitest'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js'
import { useApp } from '../helpers/app.js'
import { describeEachEngine } from '../helpers/engines.js'
import { makeDirectory } from '../helpers/directories.js'
import { serveApp } from '../helpers/listen.js'

/**
 * An upload over ROLLCALL_IMPORT_MAX_BYTES is a 413 that leaves nothing behind: refused before a
 * byte is stored when it declares its length, and, when it does not, its stored part deleted and
 * (on SQLite) the file given back its space.
 */

const LIMIT = 4 * 1024 * 1024

/** A CSV body of about `bytes`, streamed in 64 KiB pieces (no Content-Length). */
function csvStream(bytes: number): Readable {
  const line = 'someone@example.com,Some,Body\n'
  const piece = Buffer.from(line.repeat(Math.ceil(65536 / line.length)))
  let sent = 0
  return new Readable({
    read() {
      if (sent === 0) this.push('email,firstName,lastName\n')
      if (sent >= bytes) return void this.push(null)
      sent += piece.length
      this.push(piece)
    },
  })
}

describeEachEngine('uploads over the import limit', (engine) => {
  const h = useApp(engine, { importMaxBytes: LIMIT })

  /**
   * POSTs a stream over a real socket with chunked transfer encoding (no Content-Length), as a
   * client piping a file does; resolves with the status, whenever the server answers.
   */
  async function postChunked(path: string, key: string, body: Readable): Promise<number> {
    const port = await serveApp(h.app().app)
    return new Promise((resolve, reject) => {
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'text/csv', 'transfer-encoding': 'chunked', connection: 'close' }
      const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent: false }, (res) => {
        body.unpipe(req)
        body.destroy()
        res.resume()
        res.on('end', () => {
          req.destroy()
          resolve(res.statusCode as number)
        })
      })
      // The server may answer and close before the whole body is sent: the answer is what counts.
      req.on('error', (e) => (req.writableEnded ? undefined : reject(e)))
      body.pipe(req)
    })
  }

  /** The database file's size once its write-ahead log is folded in (SQLite), else null. */
  function fileBytes(): number | null {
    const store = engine.store()
    if (!(store instanceof SqliteStore)) return null
    store.raw.pragma('wal_checkpoint(TRUNCATE)')
    return statSync(store.raw.name).size
  }

  it('a body that declares its length over the limit is refused before anything is stored', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Big' })).id
    const before = fileBytes()
    const body = `email\n${'x@example.com\n'.repeat(Math.ceil((LIMIT + 1024) / 14))}`
    const r = await c.request('POST', `/api/v1/directories/${dir}/imports`, body, { 'content-type': 'text/csv' })
    expect(r.statusCode, r.body).toBe(413)
    expect(r.json()).toMatchObject({
      code: 'payload_too_large',
      detail: `The file is over the import limit of ${LIMIT} bytes (ROLLCALL_IMPORT_MAX_BYTES)`,
    })
    expect((await c.request('GET', `/api/v1/directories/${dir}/imports`)).json().data).toEqual([])
    if (before !== null) expect((fileBytes() as number) - before).toBeLessThan(256 * 1024)
  })

  it('a streamed body that turns out over the limit is deleted, and its space given back', async () => {
    const c = await h.client()
    const dir = (await makeDirectory(c, { name: 'Big' })).id
    const before = fileBytes()
    const status = await postChunked(`/api/v1/directories/${dir}/imports`, c.key, csvStream(3 * LIMIT))
    expect(status).toBe(413)
    expect((await c.request('GET', `/api/v1/directories/${dir}/imports`)).json().data).toEqual([])
    // Up to the limit was stored before the 413; none of it may stay in the file.
    if (before !== null) expect((fileBytes() as number) - before).toBeLessThan(512 * 1024)
  })
})
