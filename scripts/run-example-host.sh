#!/usr/bin/env bash
# Runs the example host product ("Acme BI", examples/host/) embedding the widget, against the
# backend `scripts/run.sh` started (in another terminal) on http://127.0.0.1:8080:
#
#   bash scripts/run.sh                 # terminal 1: the product in demo mode
#   bash scripts/run-example-host.sh    # terminal 2: Acme BI on http://127.0.0.1:8090
#
# The first run creates a host key for the example's origin with `backend create-host-key` on the
# backend's database (DATA_DIR, default data/) and keeps it in data/example-host.key (mode 600);
# later runs reuse it. Revoke it in the app or delete the file to get a new one.
# Environment: CONNECTIONS_URL (default http://127.0.0.1:8080), EXAMPLE_HOST_BIND (default
# 127.0.0.1:8090), HOST_KEY (skips the key file), DATA_DIR (as the backend's).
set -euo pipefail
source "$(dirname "$0")/env.sh"

CONNECTIONS_URL="${CONNECTIONS_URL:-http://127.0.0.1:8080}"
BIND="${EXAMPLE_HOST_BIND:-127.0.0.1:8090}"
ORIGIN="http://$BIND"
KEY_FILE="${DATA_DIR:-data}/example-host.key"

if [ -z "${HOST_KEY:-}" ]; then
  if [ ! -s "$KEY_FILE" ]; then
    echo "creating a host key for $ORIGIN (backend create-host-key)…"
    created="$(cargo run --locked -q -p backend -- create-host-key --name "Acme BI (example)" --origin "$ORIGIN")"
    key="$(printf '%s\n' "$created" | grep -o 'hk_[A-Za-z0-9_-]*' | tail -n 1)"
    [ -n "$key" ] || { echo "no key in: $created" >&2; exit 1; }
    (umask 077 && printf '%s\n' "$key" >"$KEY_FILE")
  fi
  HOST_KEY="$(cat "$KEY_FILE")"
fi

if command -v curl >/dev/null 2>&1; then
  type="$(curl -s -o /dev/null -w '%{content_type}' "$CONNECTIONS_URL/widget.js" || true)"
  case "$type" in
    *javascript*) ;;
    *) echo "warning: $CONNECTIONS_URL/widget.js is not there yet (is the backend running, and dist/widget.js built?)" >&2 ;;
  esac
fi

export CONNECTIONS_URL HOST_KEY BIND PUBLIC_URL="$ORIGIN"
exec cargo run --locked -q -p example-host
