#!/usr/bin/env bash
# Runs every test: unit, contract, handler and end-to-end (the built binary
# driven by real git, gh, Octokit and Chromium). Tools that are missing make
# their tests skip loudly, or fail when CI=true.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f e2e/api/octokit/package-lock.json ] && command -v npm >/dev/null && [ ! -d e2e/api/octokit/node_modules ]; then
  (cd e2e/api/octokit && npm ci --no-audit --no-fund --loglevel=error)
fi
exec go test -count=1 -timeout 40m "$@" ./...
