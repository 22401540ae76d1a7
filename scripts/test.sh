#!/usr/bin/env bash
# Runs every test on a fresh machine: installs what is missing, builds the SPA and the backend
# binary once, checks the size budget, then runs the front end's component tests in headless
# Chromium and every native test (shared, backend router/emulator tests, end-to-end in Chromium).
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
step "native tests: shared, backend, end-to-end"
# default-members: the native crates. cargo-nextest ships with these machines; plain cargo test is
# the fallback (its last line is then the last test binary's summary).
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
else
  cargo test --locked --tests --no-fail-fast
fi
