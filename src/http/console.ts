import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * The web console: the static files that `npm run build:web` writes to web/dist, served at `/`.
 * API and door paths keep their own answers; any other GET that asks for HTML and matches no
 * route gets the app's index.html, so that a deep link (/directories/…/users/…) reloads.
 */

/** Paths the console never answers: the native API, the doors, the reference and the ops routes keep their 404s. */
export const NON_CONSOLE_PREFIXES = [
  '/api',
  '/scim',
  '/oneofnone',
  '/dynamic',
  '/returning',
  '/velt',
  '/docs',
  '/openapi.json',
  '/healthz',
  '/readyz',
  '/metrics',
] as const

/**
 * The console's own policy, stricter than the API's: its scripts and styles come from this server
 * only (no inline code, no CDN, no web fonts), it talks to this server only, it is never framed.
 * No `upgrade-insecure-requests`: a console reached over plain HTTP on a LAN must load its assets.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

/** web/dist, from src/http (tsx) or dist/http (built): both sit two levels below the project root. */
export const CONSOLE_DIR = resolve(import.meta.dirname, '..', '..', 'web', 'dist')

const isConsolePath = (path: string) =>
  !NON_CONSOLE_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`))

const wantsHtml = (request: FastifyRequest) => /\btext\/html\b/.test(String(request.headers.accept ?? ''))

function sendIndex(reply: FastifyReply, html: Buffer): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('cache-control', 'no-cache')
    .type('text/html; charset=utf-8')
    .send(html)
}

/**
 * Registers the console on the root instance (called by the composition root after the API and
 * the doors). Without a build (web/dist/index.html absent) `/` says how to make one.
 */
export async function registerConsole(app: FastifyInstance, dir: string = CONSOLE_DIR): Promise<void> {
  const indexFile = join(dir, 'index.html')
  if (!existsSync(indexFile)) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.code(404).type('text/plain; charset=utf-8').send('The web console is not built: run `npm run build:web` (npm ci does it).\n'),
    )
    return
  }
  const html = readFileSync(indexFile)

  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', CONSOLE_CSP)
      return payload
    })
    // One route per built file (wildcard: false), so nothing here shadows another route or a 404.
    await scope.register(fastifyStatic, {
      root: dir,
      wildcard: false,
      index: false,
      decorateReply: false,
      schemaHide: true,
      setHeaders: (reply, path) => {
        // Vite puts a content hash in every asset's name: those never change.
        reply.header('cache-control', path.startsWith(join(dir, 'assets')) ? 'public, max-age=31536000, immutable' : 'no-cache')
      },
    })
    scope.get('/', { schema: { hide: true } }, async (_req, reply) => sendIndex(reply, html))
  })

  // Deep links: a GET for HTML that no route answers, outside the API and the doors, is the app's.
  // Added to the root after the API and the doors, so it runs for the root's 404s only.
  app.addHook('onRequest', async (request, reply) => {
    if (!request.is404 || (request.method !== 'GET' && request.method !== 'HEAD')) return
    const path = request.url.split('?')[0]
    if (!isConsolePath(path) || path.startsWith('/assets/') || !wantsHtml(request)) return
    return sendIndex(reply, html)
  })
}
