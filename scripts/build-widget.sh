#!/usr/bin/env bash
# Builds the <stripe-connections> widget into dist/: dist/widget.js (the loader host pages include)
# and dist/widget/ (wasm-bindgen's glue, the wasm after wasm-opt -Oz, the stylesheet). Offline.
# Needs wasm-bindgen, wasm-opt and terser on PATH (scripts/setup.sh). Run after trunk (which cleans dist/): scripts/build-frontend.sh calls it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT=dist/widget
cargo fetch --locked --target wasm32-unknown-unknown >/dev/null
cargo build --locked --offline -p widget --target wasm32-unknown-unknown --profile wasm-release
rm -rf "$OUT"
mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --out-dir "$OUT" --out-name stripe_connections \
  "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/widget.wasm"
# The same features and flags trunk passes for the SPA (frontend/index.html). --low-memory-unused
# folds constant address offsets into loads and stores (the low 1 KB is the bottom of the 1 MB
# stack, never reached): ~0.5 KB gzip.
wasm-opt -Oz --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  --strip-producers --strip-target-features --low-memory-unused "$OUT/stripe_connections_bg.wasm" -o "$OUT/stripe_connections_bg.wasm"
# The glue and the loader, minified (terser from npm, scripts/setup.sh): ~3 KB gzip of the budget.
terser "$OUT/stripe_connections.js" --module --compress --mangle -o "$OUT/stripe_connections.js"
terser widget/widget.js --compress --mangle -o dist/widget.js
# The app's stylesheet, its :root rules applying to the element (:host), then the widget's theme.
{ sed 's/^:root {/:host {/' style/main.css; cat widget/theme.css; } > "$OUT/widget.css"
