# Sourced by the scripts: puts the project's own tools (wasm-opt from npm) on PATH.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/.tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cd "$ROOT"
