# The worker image: `docker build .` (see docs/image.md).
#
# Two stages. The build stage installs the npm packages and bundles the worker and the task code
# into dist/ (worker.js, the task threads' worker-thread.js, the file queue's fq-thread.js, one file
# per cloud SDK). The final stage holds Node and those files only: no node_modules, no TypeScript,
# no Pulumi, no test tooling. Settings come only from environment variables (the names in
# config/task.env); credentials from the environment or Workload Identity, never from the image.

# Any image with Node 24 (and npm, for the build stage) on glibc works: a mirror, a hardened base.
# The default is the official slim Node 24 image on Debian 12, pinned by digest (a multi-platform
# index, so amd64 and arm64 alike) so every build gets the same base; the tag says what it is:
#   node:24.20.0-bookworm-slim
ARG BASE_IMAGE=node:24.20.0-bookworm-slim@sha256:ba849c60be29959425b8734d57b8b4b7d56f98edd9504c9af091d5281095a71e

# The build stage runs on the builder's own platform: its output is plain JavaScript, so an arm64
# laptop building an amd64 image runs npm ci natively instead of under emulation. BuildKit sets
# BUILDPLATFORM itself; Docker's legacy builder needs --build-arg BUILDPLATFORM=linux/amd64 (or arm64).
ARG BUILDPLATFORM
FROM --platform=$BUILDPLATFORM ${BASE_IMAGE} AS build
WORKDIR /src
# Only for reaching a private registry or a TLS-inspecting proxy at build time. Both belong to this
# stage alone: nothing of them reaches the final image or its history.
ARG NPM_REGISTRY=""
ARG EXTRA_CA_CERTS=""
COPY package.json package-lock.json ./
# --ignore-scripts: the bundle needs no install script (esbuild ships its binary as an optional
# platform package), and Pulumi's plugin download has no place here.
RUN set -eu; \
    if [ -n "$EXTRA_CA_CERTS" ]; then \
      printf '%s\n' "$EXTRA_CA_CERTS" > /tmp/extra-ca.pem; \
      export NODE_EXTRA_CA_CERTS=/tmp/extra-ca.pem; \
    fi; \
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error ${NPM_REGISTRY:+--registry="$NPM_REGISTRY"}; \
    rm -f /tmp/extra-ca.pem
COPY tsconfig.json ./
COPY scripts/build-worker.ts scripts/
COPY scripts/worker-bundle scripts/worker-bundle/
COPY lib lib/
COPY tasks tasks/
COPY worker worker/
RUN npx tsx scripts/build-worker.ts

FROM ${BASE_IMAGE}
# TMPDIR (and HOME) is the only place the worker writes to besides its outputs: mount a tmpfs or an
# emptyDir there when the root filesystem is read-only.
ENV NODE_ENV=production \
    TMPDIR=/tmp \
    HOME=/tmp
WORKDIR /app
# dist/ holds only what scripts/build-worker.ts wrote (the build stage starts without one).
COPY --from=build /src/dist/ /app/
# No NODE_COMPILE_CACHE: Node's cache holds the code compiled when a file loads, not the functions
# compiled later as they first run, which is nearly all of a bundle; measured, a start with it was
# no faster (docs/image.md, cold start). dist/ has a V8 cache of its own instead, taken after a
# start ran (shared-packages.js.cache, scripts/worker-bundle/codeCache.ts): made by the build
# stage's Node with the ENTRYPOINT's flags, it is used only where both match (V8 checks).
# Numeric, so Kubernetes' runAsNonRoot can verify it; matches the Deployment's runAsUser.
USER 10001:10001
# Exec form, no shell: node is PID 1 and receives SIGTERM itself (the worker drains and releases its
# leases). Source maps make stack traces, and so dead-letter failure records, name TypeScript lines.
# The flags are scripts/worker-bundle/codeCache.ts's WORKER_NODE_FLAGS too.
ENTRYPOINT ["node", "--enable-source-maps", "/app/worker.js"]
