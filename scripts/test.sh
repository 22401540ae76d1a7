#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what is missing, builds the SPA and the backend
# binary once, checks the size budget, then runs the front end's component tests in headless
# Chromium and every native test (shared, backend router/emulator tests, end-to-end in Chromium),
# the backend's suites on a throw-away PostgreSQL server too.
set -euo pipefail
source "$(dirname "$0")/env.sh"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "set-up"
bash scripts/setup.sh
step "PostgreSQL for the tests"
# A throw-away server for the rest of this script: exports TEST_POSTGRES_URL (unless already set),
# and stops the server and removes its files when this script exits.
source scripts/postgres.sh
step "build the SPA and the widget (dist/)"
bash scripts/build-frontend.sh
step "size budget"
bash scripts/size.sh
step "build the backend and the example host for the end-to-end tests"
cargo build --locked -p backend -p example-host
step "front-end component tests (wasm, headless Chromium)"
cargo test --locked -p frontend --target wasm32-unknown-unknown --tests
step "widget component tests (wasm, headless Chromium)"
cargo test --locked -p widget --target wasm32-unknown-unknown --lib
step "backend tests again, on PostgreSQL (a database of its own per test app)"
# The router, store and sync suites once more with BACKEND_TEST_DATABASE=postgres; a failure here is
# reported after the full run below (whose summary stays the last thing printed).
postgres_suite=0
if cargo nextest --version >/dev/null 2>&1; then
  BACKEND_TEST_DATABASE=postgres cargo nextest run --locked -p backend -E 'kind(test)' \
    --no-fail-fast || postgres_suite=$?
else
  BACKEND_TEST_DATABASE=postgres cargo test --locked -p backend --tests --no-fail-fast \
    || postgres_suite=$?
fi
step "native tests: shared, backend (SQLite), end-to-end (two instances on PostgreSQL among them)"
# default-members: the native crates. cargo-nextest ships with these machines; plain cargo test is
# the fallback (its last line is then the last test binary's summary).
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast || status=$?
else
  cargo test --locked --tests --no-fail-fast || status=$?
fi
if [ "$postgres_suite" -ne 0 ]; then
  echo "the backend tests on PostgreSQL failed (see the step above)"
  exit "$postgres_suite"
fi
exit "$status"
