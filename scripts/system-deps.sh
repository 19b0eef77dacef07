#!/usr/bin/env bash
# System packages some features need (installed only when missing; needs root or sudo).
# Each area appends what it needs; keep every step idempotent and quiet when already satisfied.
set -euo pipefail
