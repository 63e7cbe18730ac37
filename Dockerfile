# Rollcall's container image: `docker build -t rollcall .`, then see compose.yaml or docs/operations.md.
#
# Stage 1 compiles the server (tsc) and the web console (vite) with every dependency, then drops
# the development ones. Stage 2 is Node 20 slim with the result, run as the unprivileged `node`
# user; the embedded SQLite database lives under the /data volume.

FROM node:20-bookworm-slim AS build
# better-sqlite3 builds its native addon when no prebuilt one fits.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# The prepare script builds, and needs the sources: install first without scripts, then build.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# pg_dump and pg_restore for `rollcall backup` / `restore` against PostgreSQL (15, as compose.yaml's server).
RUN apt-get update \
  && apt-get install -y --no-install-recommends postgresql-client-15 \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    ROLLCALL_DATA=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /data && chown node:node /data \
  && ln -s /app/bin/rollcall.js /usr/local/bin/rollcall
USER node
VOLUME ["/data"]
EXPOSE 3000
# /healthz answers while the process is up (roles api and all; a worker serves no HTTP: compose turns this off for it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/bin/rollcall.js"]
CMD ["serve"]
