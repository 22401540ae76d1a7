#!/usr/bin/env bash
# Installs, idempotently, everything the build and the tests need on a fresh Debian 12 machine
# with rustup and the package registries only (see the README). Safe to run again: each step checks
# first and does nothing when the tool is already there at the right version.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132.0.0
TERSER_VERSION=5.51.4
AXE_VERSION=4.14.1
LOCALSTRIPE_VERSION=1.15.10
OPENAPI_VALIDATOR_VERSION=2.11.0
AJV_VERSION=8.20.0
AJV_FORMATS_VERSION=3.0.1
TOOLS_DIR="$PWD/.tools"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: Chromium + its driver for browser tests; PostgreSQL for the multi-instance tests.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
# The server binaries live in /usr/lib/postgresql/<version>/bin, not on PATH (scripts/postgres.sh).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null 2>&1 \
  || need_apt+=(postgresql)
# Python with venv (Debian splits ensurepip out into python3-venv) for localstripe, the fake Stripe
# API the sync's comparison tests run against; only needed while localstripe is not installed yet.
if [ ! -x "$TOOLS_DIR/localstripe/bin/localstripe" ]; then
  command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  # Another apt run (an unattended upgrade, a second set-up) holds dpkg's lock: wait for it.
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! trunk --version 2>/dev/null | grep -q "$TRUNK_VERSION"; then
  log "cargo install trunk $TRUNK_VERSION (several minutes, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock exactly, or trunk tries to download it.
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  log "cargo install wasm-bindgen-cli $WB_VERSION"
  # Not --locked: its own lockfile pins a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# wasm-opt from npm (binaryen 132). Never Debian's binaryen 108: its output crashes at start-up.
if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ]; then
  log "npm install binaryen@$BINARYEN_VERSION into .tools/"
  npm install --silent --no-fund --no-audit --prefix "$TOOLS_DIR" "binaryen@$BINARYEN_VERSION" >/dev/null
fi

# terser from npm: minifies the widget's and the SPA's glue JS (scripts/build-widget.sh,
# scripts/build-frontend.sh; the size budgets).
if [ ! -x "$TOOLS_DIR/node_modules/.bin/terser" ]; then
  log "npm install terser@$TERSER_VERSION into .tools/"
  npm install --silent --no-fund --no-audit --prefix "$TOOLS_DIR" "terser@$TERSER_VERSION" >/dev/null
fi

# axe-core from npm: the accessibility checker the end-to-end tests run in the page (WCAG 2.x A/AA).
if [ ! -f "$TOOLS_DIR/node_modules/axe-core/axe.min.js" ]; then
  log "npm install axe-core@$AXE_VERSION into .tools/"
  npm install --silent --no-fund --no-audit --prefix "$TOOLS_DIR" "axe-core@$AXE_VERSION" >/dev/null
fi

# The OpenAPI 3.1 validator and Ajv from npm: backend/tests/openapi.rs checks GET /api/openapi.json
# against the specification's schema and real answers against the document's schemas.
if [ ! -f "$TOOLS_DIR/node_modules/@seriousme/openapi-schema-validator/package.json" ] \
  || [ ! -f "$TOOLS_DIR/node_modules/ajv-formats/package.json" ]; then
  log "npm install @seriousme/openapi-schema-validator@$OPENAPI_VALIDATOR_VERSION ajv ajv-formats into .tools/"
  npm install --silent --no-fund --no-audit --prefix "$TOOLS_DIR" \
    "@seriousme/openapi-schema-validator@$OPENAPI_VALIDATOR_VERSION" "ajv@$AJV_VERSION" \
    "ajv-formats@$AJV_FORMATS_VERSION" >/dev/null
fi

# localstripe (PyPI), in its own venv under .tools/: backend/tests/localstripe.rs starts it.
if [ ! -x "$TOOLS_DIR/localstripe/bin/localstripe" ]; then
  log "pip install localstripe==$LOCALSTRIPE_VERSION into .tools/localstripe"
  rm -rf "$TOOLS_DIR/localstripe"
  python3 -m venv "$TOOLS_DIR/localstripe"
  "$TOOLS_DIR/localstripe/bin/pip" install --quiet --disable-pip-version-check \
    "localstripe==$LOCALSTRIPE_VERSION"
fi
