#!/usr/bin/env bash
# Runs the product in demo mode (embedded SQLite, built-in Stripe emulator) on a fresh machine:
# installs what is missing, builds the SPA, starts the backend. Extra environment is honoured
# (see README), e.g. BIND=0.0.0.0:8080 or STRIPE_CLIENT_ID/STRIPE_SECRET_KEY for real Stripe.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash scripts/setup.sh
bash scripts/build-frontend.sh
# Demo mode is asked for, never implied: without Stripe credentials this run uses the emulator.
if [ -z "${STRIPE_CLIENT_ID:-}" ] && [ -z "${STRIPE_SECRET_KEY:-}" ]; then export DEMO=1; fi
exec cargo run --locked -p backend -- serve
