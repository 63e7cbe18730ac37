import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { closeServer, listenLocal } from './listen.js'

export interface Delivery {
  url: string
  headers: IncomingHttpHeaders
  body: string
}

/**
 * A webhook receiver on 127.0.0.1 that records every request it gets (in `got`, in order) and
 * answers the n-th (from 1) with `status`, or `status(n)`; a 3xx carries a Location to another
 * path of its own (`/elsewhere`).
 */
export function webhookReceiver(status: number | ((n: number) => number) = 204) {
  const got: Delivery[] = []
  let server: Server | undefined
  let port = 0
  return {
    got,
    port: () => port,
    url: (path = '/hook') => `http://127.0.0.1:${port}${path}`,
    start: async () => {
      server = createServer((req, res) => {
        let body = ''
        req.on('data', (d) => (body += d))
        req.on('end', () => {
          got.push({ url: req.url ?? '', headers: req.headers, body })
          const answer = typeof status === 'number' ? status : status(got.length)
          res.statusCode = answer
          if (answer >= 300 && answer < 400) res.setHeader('location', `http://127.0.0.1:${port}/elsewhere`)
          res.end()
        })
      })
      port = await listenLocal(server)
    },
    stop: async () => {
      if (server) await closeServer(server)
    },
  }
}
