#!/usr/bin/env bash
# Prints the size of the built SPA (wasm + js + css, raw and gzip -9) and fails past the budget.
# Also fails if anything in dist/ looks like a Stripe secret key.
set -euo pipefail
source "$(dirname "$0")/env.sh"
BUDGET_GZIP=$((150 * 1024))
[ -f dist/index.html ] || { echo "dist/ is not built: run scripts/build-frontend.sh" >&2; exit 1; }
raw=0; gz=0
printf '%-48s %10s %10s\n' file raw gzip
for f in dist/*.wasm dist/*.js dist/*.css; do
  r=$(stat -c %s "$f"); g=$(gzip -9c "$f" | wc -c)
  raw=$((raw + r)); gz=$((gz + g))
  printf '%-48s %10d %10d\n' "$f" "$r" "$g"
done
printf '%-48s %10d %10d  (budget %d gzip)\n' "total (wasm+js+css)" "$raw" "$gz" "$BUDGET_GZIP"
if grep -rlaE '(sk|rk)_(test|live)_[A-Za-z0-9]{8,}' dist/ >/dev/null; then
  echo "FAIL: dist/ contains something that looks like a Stripe secret key" >&2; exit 1
fi
if [ "$gz" -gt "$BUDGET_GZIP" ]; then
  echo "FAIL: the SPA is $gz bytes gzip, over the $BUDGET_GZIP budget" >&2; exit 1
fi
echo "size OK"
