#!/usr/bin/env bash
# Builds the SPA into dist/ (release profile `wasm-release`, wasm-opt -Oz) and the widget
# (scripts/build-widget.sh: dist/widget.js, dist/widget/), offline.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo fetch --locked --target wasm32-unknown-unknown >/dev/null
trunk build --release --offline
# Trunk's `minify` leaves wasm-bindgen's glue as it is: minify it with terser (as the widget's) and
# give index.html the new file's SRI hash (~2 KB gzip of the SPA budget).
js=$(ls dist/frontend-*.js)
old=$(openssl dgst -sha384 -binary "$js" | base64 -w0)
terser "$js" --module --compress --mangle -o "$js"
new=$(openssl dgst -sha384 -binary "$js" | base64 -w0)
grep -qF "sha384-$old" dist/index.html || { echo "no SRI hash for $js in dist/index.html" >&2; exit 1; }
sed -i "s|sha384-$old|sha384-$new|" dist/index.html
# The widget after trunk, which cleans dist/.
bash scripts/build-widget.sh
