"""Capture errors: each one is a clear, per-URL message; none of them crashes a batch."""

from __future__ import annotations

from idolguard.errors import ErrorCode, IdolGuardError


class CaptureError(IdolGuardError):
    """A capture step failed (network error, bad response); what was captured before is kept."""

    code = ErrorCode.CAPTURE_FAILED


class CaptureRefused(CaptureError):
    """The request was refused before any connection: forbidden address, scheme or URL form (SSRF guard)."""


class LimitExceeded(CaptureError):
    """A safety limit (bytes, redirects, time, media count) was reached; data captured before it is kept."""

    code = ErrorCode.CAPTURE_LIMIT
