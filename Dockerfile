# Rookery node image: `docker build -t rookery:0.1.0 .`
# Runs the compiled JavaScript (dist/), built in the first stage; Node 24 LTS.
ARG NODE_IMAGE=node:24-bookworm-slim

# Compiles src/, cluster/ and metrics/ to dist/ (with the Lua scripts).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY scripts/build.mjs ./scripts/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY cluster ./cluster
COPY metrics ./metrics
RUN node scripts/build.mjs

# Production dependencies only, installed from the lock file (`prepare` skips the build without TypeScript).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# better-sqlite3 (the embedded store) compiles its addon when its prebuilt binary cannot be
# downloaded; the toolchain stays in this stage.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY bin ./bin
COPY scripts/build.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# A fixed, non-root uid/gid (10001): the Helm chart's securityContext runs the pod as it.
RUN groupadd --system --gid 10001 rookery \
 && useradd --system --uid 10001 --gid rookery --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin rookery
COPY --from=deps /app/node_modules ./node_modules
# package.json is read at run time (XEP-0092 software version, --version).
COPY package.json package-lock.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist
# Everything is owned by root and read-only to the process.
# Without Redis, the node writes the embedded store's data directory (mount a volume there to keep it).
RUN mkdir -p /var/lib/rookery && chown 10001:10001 /var/lib/rookery
ENV ROOKERY_DATA_DIR=/var/lib/rookery
VOLUME ["/var/lib/rookery"]
USER 10001:10001
# 5222: client (STARTTLS), 5223: client (direct TLS), 5280: HTTP (health, metrics, admin API).
EXPOSE 5222 5223 5280
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ROOKERY_HTTP_PORT || 5280) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/rookery.js"]
CMD ["start"]
