# Remote Assistance ticket service: a two-stage build on Debian bookworm.
#   docker build -t ra-ticket-service:local .
#   docker run -p 8080:8080 -v ra-data:/data ra-ticket-service:local
# Both stages use the same base image, so the better-sqlite3 addon compiled in
# the build stage links against the same glibc and Node ABI as the runtime.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------
# Build: compile better-sqlite3, compile TypeScript, then drop dev packages.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build

# The image's bundled npm is 10.x, which does not know package.json's
# `allowScripts` (npm 11 reads it; it still runs approved install scripts and
# will block unapproved ones in a later release). Use the same npm major as
# development so the policy is read the same way here.
ARG NPM_VERSION=11.19.1

# Toolchain for node-gyp: better-sqlite3 is built from source, not downloaded.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/* \
 && npm install -g "npm@${NPM_VERSION}" \
 && npm --version

WORKDIR /app

# Skip prebuild-install's binary download; node-gyp compiles the addon.
ENV npm_config_build_from_source=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# Dependencies first, so this layer is cached until the lockfile changes.
# No --ignore-scripts: better-sqlite3's install script (allowed by
# `allowScripts` in package.json) is what builds the native addon.
COPY package.json package-lock.json ./
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev \
 && node -e "require('better-sqlite3')(':memory:').close()"

# ---------------------------------------------------------------------------
# Runtime: only what `node dist/src/server.js` needs.
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

WORKDIR /app

# Application files stay owned by root (read-only for the service user).
# package.json is required at run time: src/paths.ts finds migrations/ by
# walking up from dist/src/ to the folder holding package.json.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# The pages' stylesheet and scripts, served as they are (no build step).
COPY web ./web

# The database (and, without RA_BOOTSTRAP_ADMIN_TOKEN, the generated
# `admin-token` file beside it) live in /data, the only writable place.
RUN mkdir -p /data && chown node:node /data

ENV NODE_ENV=production \
    RA_HOST=0.0.0.0 \
    RA_PORT=8080 \
    RA_DATABASE_FILE=/data/ra.sqlite

USER node

VOLUME ["/data"]

EXPOSE 8080

# No curl in the slim image: use Node's built-in fetch. Follows RA_PORT if it
# is overridden at run time (the published port is 8080 by default).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.RA_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The server handles SIGTERM itself (graceful shutdown), so run node directly
# rather than through npm, which would not forward the signal.
CMD ["node", "dist/src/server.js"]
