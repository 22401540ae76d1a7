#!/usr/bin/env bash
# Builds the SPA into dist/ (release profile `wasm-release`, wasm-opt -Oz) and the widget
# (scripts/build-widget.sh: dist/widget.js, dist/widget/), offline.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo fetch --locked --target wasm32-unknown-unknown >/dev/null
trunk build --release --offline
# The widget after trunk, which cleans dist/.
bash scripts/build-widget.sh
