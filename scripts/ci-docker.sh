#!/usr/bin/env bash
# Makes a Docker daemon available for the image tests (test/image.test.ts) on a fresh Debian
# machine: installs Debian's docker.io and debootstrap (for the local base image), and tmux (the
# terminal of the worker's Ctrl-C tests), when missing and
# starts dockerd in the background. Idempotent and quiet: does nothing when a daemon already answers.
# Needs root. Prints the daemon's log and fails when it does not come up in time.
set -euo pipefail

WAIT_SECONDS=${DOCKER_START_TIMEOUT:-60}

daemon_answers() { docker info >/dev/null 2>&1; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# Not Docker, but Debian's too: the real terminal the Ctrl-C tests of `npm run worker` type into.
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if ((${#missing[@]} > 0)); then
  apt_log=$(mktemp -t apt-docker.XXXXXX.log)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1; then
    echo "ci-docker: installing ${missing[*]} failed; apt's output:" >&2
    tail -n 30 "$apt_log" >&2
    exit 1
  fi
fi

daemon_answers && exit 0

dockerd_log=$(mktemp -t dockerd.XXXXXX.log)
setsid dockerd >"$dockerd_log" 2>&1 </dev/null &
for ((tenth = 0; tenth < WAIT_SECONDS * 10; tenth++)); do
  daemon_answers && exit 0
  sleep 0.1
done
echo "ci-docker: dockerd did not answer within ${WAIT_SECONDS} s; its log ($dockerd_log):" >&2
tail -n 40 "$dockerd_log" >&2
exit 1
