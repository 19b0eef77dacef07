#!/usr/bin/env bash
# System packages some features need (installed only when missing; needs root or sudo).
# Each area appends what it needs; keep every step idempotent and quiet when already satisfied.
set -euo pipefail

# --- capture: headless Chromium (driven by Playwright through executable_path; Playwright never downloads one)
# and openssl (RFC 3161 token verification in tests and by counsel).
_capture_missing=()
[ -x /usr/bin/chromium ] || _capture_missing+=(chromium)
command -v openssl >/dev/null 2>&1 || _capture_missing+=(openssl)
# Fonts so screenshots of Korean/Japanese/Chinese captions are legible evidence, not tofu boxes.
[ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 \
    || _capture_missing+=(fonts-noto-cjk)
[ -d /usr/share/fonts/truetype/dejavu ] || _capture_missing+=(fonts-dejavu-core)
if [ "${#_capture_missing[@]}" -gt 0 ]; then
    _sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then _sudo="sudo"; else _sudo="none"; fi
    fi
    if [ "$_sudo" != "none" ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        if ! $_sudo apt-get install -y -qq --no-install-recommends "${_capture_missing[@]}" >/dev/null 2>&1; then
            $_sudo apt-get update -qq >/dev/null 2>&1 || true
            $_sudo apt-get install -y -qq --no-install-recommends "${_capture_missing[@]}" >/dev/null 2>&1 \
                || echo "capture: could not install ${_capture_missing[*]}; screenshots/PDF will be unavailable" >&2
        fi
    else
        echo "capture: please install ${_capture_missing[*]} (needs apt-get and root); screenshots/PDF unavailable" >&2
    fi
fi

# --- cases: PDF reports (WeasyPrint needs Pango; the Noto CJK fonts above give real Korean glyphs).
_cases_missing=()
ldconfig -p 2>/dev/null | grep -q "libpango-1.0.so.0" || _cases_missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q "libpangoft2-1.0.so.0" || _cases_missing+=(libpangoft2-1.0-0)
if [ "${#_cases_missing[@]}" -gt 0 ]; then
    _sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then _sudo="sudo"; else _sudo="none"; fi
    fi
    if [ "$_sudo" != "none" ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        $_sudo apt-get install -y -qq --no-install-recommends "${_cases_missing[@]}" >/dev/null 2>&1 \
            || { $_sudo apt-get update -qq >/dev/null 2>&1 || true
                 $_sudo apt-get install -y -qq --no-install-recommends "${_cases_missing[@]}" >/dev/null 2>&1; } \
            || echo "cases: could not install ${_cases_missing[*]}; PDF reports will be unavailable" >&2
    else
        echo "cases: please install ${_cases_missing[*]} (needs apt-get and root); PDF reports unavailable" >&2
    fi
fi
