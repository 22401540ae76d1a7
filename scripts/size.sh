#!/usr/bin/env bash
# Prints the size of the built SPA (wasm + js + css + index.html, raw and gzip -9) and of the widget
# (wasm + js: dist/widget.js and dist/widget/*), and fails past either budget. Also fails if
# anything in dist/ looks like a Stripe secret key.
set -euo pipefail
source "$(dirname "$0")/env.sh"
BUDGET_GZIP=$((200 * 1024))
WIDGET_BUDGET_GZIP=$((160 * 1024))
[ -f dist/index.html ] || { echo "dist/ is not built: run scripts/build-frontend.sh" >&2; exit 1; }
[ -f dist/widget.js ] || { echo "the widget is not built: run scripts/build-widget.sh" >&2; exit 1; }
fail=0
# Prints one line per file and the total; sets $raw and $gz.
measure() {
  raw=0; gz=0
  for f in "$@"; do
    r=$(stat -c %s "$f"); g=$(gzip -9c "$f" | wc -c)
    raw=$((raw + r)); gz=$((gz + g))
    printf '%-48s %10d %10d\n' "$f" "$r" "$g"
  done
}
printf '%-48s %10s %10s\n' file raw gzip
# The SPA's files (dist/widget.js is the widget's loader, counted below).
spa=()
for f in dist/*.wasm dist/*.js dist/*.css dist/index.html; do [ "$f" = dist/widget.js ] || spa+=("$f"); done
measure "${spa[@]}"
printf '%-48s %10d %10d  (budget %d gzip)\n' "SPA total (wasm+js+css+html)" "$raw" "$gz" "$BUDGET_GZIP"
if [ "$gz" -gt "$BUDGET_GZIP" ]; then
  echo "FAIL: the SPA is $gz bytes gzip, over the $BUDGET_GZIP budget" >&2; fail=1
fi
echo
measure dist/widget.js dist/widget/*.wasm dist/widget/*.js
printf '%-48s %10d %10d  (budget %d gzip)\n' "widget total (wasm+js)" "$raw" "$gz" "$WIDGET_BUDGET_GZIP"
if [ "$gz" -gt "$WIDGET_BUDGET_GZIP" ]; then
  echo "FAIL: the widget is $gz bytes gzip, over the $WIDGET_BUDGET_GZIP budget" >&2; fail=1
fi
measure dist/widget/*.css
if grep -rlaE '(sk|rk)_(test|live)_[A-Za-z0-9]{8,}' dist/ >/dev/null; then
  echo "FAIL: dist/ contains something that looks like a Stripe secret key" >&2; exit 1
fi
[ "$fail" = 0 ] || exit 1
echo "size OK"
