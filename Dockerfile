# syntax=docker/dockerfile:1
#
# One image for every llmxmapreduce service. The CLI is compiled into one script at image build
# (bin/build.js), so services start without transpiling TypeScript;
# the sources stay beside it (the build lists them) and tsx remains the fallback.
#
#   docker build -t llmxmapreduce:0.1.0 .
#   docker run --rm -e NATS_URL=nats://host.docker.internal:4222 llmxmapreduce:0.1.0 reducer
#
# The argument selects the service: coordinator | mapper (default) | convolver | reducer.
# Metrics and health are served on METRICS_PORT (9464): /metrics, /healthz, /readyz.

# A supported Node.js LTS line (22: maintenance until 2027-04-30; 20 reached its end of life on
# 2026-04-30). tests/unit/k8s-manifests.test.ts fails once the line chosen here is past its end.
ARG NODE_IMAGE=node:22.23.3-bookworm-slim

# --- dependencies: production only, from the lockfile ---------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Install scripts are skipped: native helpers (msgpackr-extract, esbuild) ship prebuilt
# binaries in optional platform packages, which npm installs without running scripts.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && node -e "import('tsx/esm/api').then(() => console.log('tsx present'))"

# --- runtime ---------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="llmxmapreduce" \
      org.opencontainers.image.description="LLM×MapReduce services over NATS JetStream" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production \
    METRICS_PORT=9464
WORKDIR /app
# Code and dependencies belong to root and are read-only for the service user.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY cli ./cli
COPY services ./services
COPY shared ./shared
# Built as root: the service user only reads the bundle.
RUN node bin/build.js && node bin/llmxmr.js --help > /dev/null
# The "node" user of the base image (uid 1000), numeric so that Kubernetes can verify
# runAsNonRoot. tsx caches compiled files under /tmp: mount a writable volume there when the
# root filesystem is read-only.
USER 1000:1000
EXPOSE 9464
ENTRYPOINT ["node", "bin/llmxmr.js", "service"]
CMD ["mapper"]
