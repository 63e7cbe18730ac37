import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** Real servers for tests, on a free port of 127.0.0.1. */

/** Starts `server` listening; resolves with its port once it listens. */
export async function listenLocal(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  return (server.address() as AddressInfo).port
}

/** Stops `server`, cutting the connections still open; resolves once it is closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
}

/** A port nothing listens on: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const s = createServer()
  const port = await listenLocal(s)
  await closeServer(s)
  return port
}

/** Serves a Fastify app over a real socket (once; when it already listens, that socket); resolves with its port. */
export async function serveApp(app: FastifyInstance): Promise<number> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}
