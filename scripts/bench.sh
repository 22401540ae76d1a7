#!/usr/bin/env bash
# Prints the performance and size figures: backend hot paths (cargo bench, release build) and the
# SPA's size against its budget. Numbers, not pass/fail (the size budget alone fails CI, in test.sh).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cargo bench --locked -p backend --bench flow
echo
cargo bench --locked -p backend --bench sync
echo
[ -f dist/index.html ] || bash scripts/build-frontend.sh
bash scripts/size.sh
