#!/usr/bin/env bash
# Builds the SPA into dist/ (release profile `wasm-release`, wasm-opt -Oz), offline.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo fetch --locked --target wasm32-unknown-unknown >/dev/null
trunk build --release --offline
