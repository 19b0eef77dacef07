#!/usr/bin/env bash
# System packages some features need (installed only when missing; needs root or sudo).
# Each area appends what it needs; keep every step idempotent and quiet when already satisfied.
# A failed install prints the package manager's own error (never a guess), and a success prints nothing.
set -euo pipefail

# Tests point this at a scratch folder to exercise both outcomes without touching the real system.
_root="${IDOLGUARD_SYSTEM_ROOT:-}"

# --- capture: headless Chromium (driven by Playwright through executable_path; Playwright never downloads one)
# and openssl (RFC 3161 token verification in tests and by counsel).
_capture_missing() {
    local missing=()
    [ -x "$_root/usr/bin/chromium" ] || missing+=(chromium)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    # Fonts so screenshots of Korean/Japanese/Chinese captions are legible evidence, not tofu boxes; the
    # charts (report/charts.py) draw Korean with Noto Sans CJK KR too.
    ls "$_root"/usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
    [ -d "$_root/usr/share/fonts/truetype/dejavu" ] || missing+=(fonts-dejavu-core)
    echo "${missing[@]}"
}

read -r -a _missing <<<"$(_capture_missing)"
if [ "${#_missing[@]}" -gt 0 ]; then
    _sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then _sudo="sudo -n"; else _sudo="none"; fi
    fi
    if [ "$_sudo" != "none" ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        _log="$(mktemp)"
        # Try from the current package lists first; refresh them once if that fails.
        if ! $_sudo apt-get install -y -qq --no-install-recommends "${_missing[@]}" >"$_log" 2>&1; then
            $_sudo apt-get update -qq >>"$_log" 2>&1 || true
            $_sudo apt-get install -y -qq --no-install-recommends "${_missing[@]}" >>"$_log" 2>&1 || true
        fi
        # Judge by what is installed now, not by exit codes (apt-get can fail on an unrelated package or a
        # post-install hook after installing what we need).
        read -r -a _still <<<"$(_capture_missing)"
        if [ "${#_still[@]}" -gt 0 ]; then
            echo "capture: could not install ${_still[*]}; screenshots/PDF will be unavailable. apt-get said:" >&2
            grep -E '^(E|W):|rror|denied' "$_log" | tail -n 15 >&2 || tail -n 15 "$_log" >&2
        fi
        rm -f "$_log"
    else
        echo "capture: please install ${_missing[*]} (needs apt-get and root); screenshots/PDF unavailable" >&2
    fi
fi

# --- portal: wrk, the load generator of bench/portal_load.py (loopback only; the tests do not need it).
if ! command -v wrk >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 \
            || echo "portal: could not install wrk; bench/portal_load.py will not run" >&2
    elif command -v sudo >/dev/null 2>&1; then
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1 \
            || echo "portal: could not install wrk; bench/portal_load.py will not run" >&2
    fi
fi

# --- cases: PDF reports (WeasyPrint needs Pango; the Noto CJK fonts above give real Korean glyphs).
_cases_missing=()
_libs="$(ldconfig -p 2>/dev/null || true)"  # read once: `ldconfig | grep -q` trips pipefail on SIGPIPE
case "$_libs" in *"libpango-1.0.so.0"*) ;; *) _cases_missing+=(libpango-1.0-0) ;; esac
case "$_libs" in *"libpangoft2-1.0.so.0"*) ;; *) _cases_missing+=(libpangoft2-1.0-0) ;; esac
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
