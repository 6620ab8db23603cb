#!/usr/bin/env bash
# Runs every test: unit, contract, handler and end-to-end (the built binary
# driven by real git, gh, Octokit and Chromium). Tools that are missing make
# their tests skip, or fail when CI=true. The output is go test's, and ends
# with every skipped test and its reason, every failed test, and a line
# counting passed, failed and skipped tests; the exit status is go test's.
# Arguments go to go test (e.g. ./test.sh -run TestVersion, or -v).
set -euo pipefail
cd "$(dirname "$0")"
if [ -f e2e/api/octokit/package-lock.json ] && command -v npm >/dev/null && [ ! -d e2e/api/octokit/node_modules ]; then
  (cd e2e/api/octokit && npm ci --no-audit --no-fund --loglevel=error)
fi

# What the run builds (the gatehouse binary every end-to-end package runs,
# built once, and the summary) goes into one directory, removed at the end,
# and so does whatever the tests and the programs they drive (Chromium, git,
# PostgreSQL) put in the temporary directory: TMPDIR points inside it, as
# open to other users as /tmp is, for the postgres user.
work=$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir -m 1777 "$work/tmp"
export TMPDIR="$work/tmp"
if go build -o "$work/gatehouse" ./cmd/gatehouse; then
  export GATEHOUSE_TEST_BINARY="$work/gatehouse"
fi

verbose=
for arg in "$@"; do
  case $arg in -v | -v=true | -test.v | -test.v=true) verbose=-v ;; esac
done
if ! go build -o "$work/summary" ./internal/testenv/summary; then
  echo "test.sh: the summary does not build; running go test without it" >&2
  go test -count=1 -timeout 40m "$@" ./...
  exit
fi
go test -json -count=1 -timeout 40m "$@" ./... | "$work/summary" $verbose
