"""Exceptions that carry a message meant for the user, so the CLI can print them without a traceback.

Each error also carries a stable ``code`` (an ``ErrorCode``) and the ``params`` its message names, so a front
door in another language (the web pages, KO/EN) says the same thing from its own catalog instead of reading
the English text. The English ``str(error)`` stays what the CLI prints. Codes are part of the interface:
never renamed, only added (stored records keep them next to the text: a job's results, a portal link's row).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Stable codes of the refusals the product explains to people (the web catalog has a KO and EN message
    for each, a test checks). ``GENERIC`` is any error without a more specific code."""

    GENERIC = "error"
    # capture (the SSRF guard and the fetch)
    CAPTURE_PRIVATE_ADDRESS = "capture.private_address"
    CAPTURE_HOST_NOT_FOUND = "capture.host_not_found"
    CAPTURE_DNS_TIMEOUT = "capture.dns_timeout"
    CAPTURE_SCHEME = "capture.scheme"
    CAPTURE_INVALID_URL = "capture.invalid_url"
    CAPTURE_CREDENTIALS = "capture.credentials"
    CAPTURE_BAD_IDN = "capture.bad_idn"
    CAPTURE_UNREACHABLE = "capture.unreachable"
    CAPTURE_TIME_LIMIT = "capture.time_limit"
    CAPTURE_SIZE_LIMIT = "capture.size_limit"
    CAPTURE_LIMIT = "capture.limit"
    CAPTURE_REDIRECTS = "capture.redirects"
    CAPTURE_HTTP_STATUS = "capture.http_status"
    CAPTURE_FAILED = "capture.failed"
    # capture: problems met on the way that leave a partial capture (stored beside their English text)
    CAPTURE_INTERNAL = "capture.internal"
    CAPTURE_TLS_UNTRUSTED = "capture.tls_untrusted"
    CAPTURE_PAGE_BODY = "capture.page_body"
    CAPTURE_EXTRACTOR = "capture.extractor"
    CAPTURE_MEDIA_LIMIT = "capture.media_limit"
    CAPTURE_MEDIA_FAILED = "capture.media_failed"
    CAPTURE_MEDIA_BUDGET = "capture.media_budget"  # a total-bytes or time limit: the page's later media skipped
    # capture: why one media file of a page was not kept (stored beside its English text in ``capture_media``)
    CAPTURE_MEDIA_SKIPPED = "capture.media_skipped"  # after the page's download or time budget ran out
    CAPTURE_MEDIA_DOWNLOAD = "capture.media_download"
    CAPTURE_MEDIA_REFUSED = "capture.media_refused"
    CAPTURE_MEDIA_HTTP = "capture.media_http"
    CAPTURE_MEDIA_NOT_MEDIA = "capture.media_not_media"
    CAPTURE_MEDIA_NOT_STORED = "capture.media_not_stored"
    CAPTURE_NO_BROWSER = "capture.no_browser"
    CAPTURE_BROWSER = "capture.browser"
    CAPTURE_PAGE_SLOW = "capture.page_slow"
    CAPTURE_SCREENSHOT_CUT = "capture.screenshot_cut"
    CAPTURE_ARCHIVE = "capture.archive"
    CAPTURE_MANIFEST = "capture.manifest"
    CAPTURE_TIMESTAMP = "capture.timestamp"
    # records, cases, takedowns and reported links
    RECORD_UNKNOWN = "record.unknown"
    ROLE_NOT_ALLOWED = "role.not_allowed"
    CASE_FILED_NEEDS = "case.filed_needs"
    CASE_FILING_DATE = "case.filing_date"
    CASE_FILING_FUTURE = "case.filing_future"
    CASE_DESTROYED = "case.destroyed"
    CASE_BAD_TRANSITION = "case.bad_transition"
    CASE_ALREADY = "case.already"
    CASE_EMPTY_NOTE = "case.empty_note"
    CASE_NOT_ASSIGNED = "case.not_assigned"
    CASE_ALREADY_ASSIGNED = "case.already_assigned"
    CASE_NEEDS_REASON = "case.needs_reason"
    CASE_HOLD_ON = "case.hold_on"
    CASE_HOLD_OFF = "case.hold_off"
    CASE_RETENTION = "case.retention"
    CASE_ON_HOLD = "case.on_hold"
    CASE_NOT_CLOSED = "case.not_closed"
    CASE_SECOND_APPROVER = "case.second_approver"
    TAKEDOWN_DUPLICATE = "takedown.duplicate"
    TAKEDOWN_NOT_DRAFT = "takedown.not_draft"
    TAKEDOWN_NO_SMTP = "takedown.no_smtp"
    TAKEDOWN_SEND_FAILED = "takedown.send_failed"
    TAKEDOWN_ALREADY = "takedown.already"
    TAKEDOWN_NOT_SENT = "takedown.not_sent"
    TAKEDOWN_NO_URL = "takedown.no_url"
    PORTAL_NOT_FAILED = "portal.not_failed"
    # accounts and tokens
    USER_EXISTS = "user.exists"
    USER_UNKNOWN = "user.unknown"
    USER_DISABLED = "user.disabled"
    USER_ALREADY_DISABLED = "user.already_disabled"
    USER_NOT_DISABLED = "user.not_disabled"
    USER_SELF_DISABLE = "user.self_disable"
    USER_LAST_ADMIN = "user.last_admin"
    USER_NAME_INVALID = "user.name_invalid"
    ROLE_UNKNOWN = "role.unknown"
    SCOPE_UNKNOWN_ARTISTS = "scope.unknown_artists"
    TOKEN_UNKNOWN = "token.unknown"
    TOKEN_SCOPE = "token.scope"
    TOKEN_TTL = "token.ttl"
    TOKEN_READ_ONLY_ROLE = "token.read_only_role"
    DURATION_INVALID = "duration.invalid"
    PASSWORD_SHORT = "password.short"
    PASSWORD_LONG = "password.long"
    PASSWORD_REPEATED = "password.repeated"
    PASSWORD_SEQUENCE = "password.sequence"
    PASSWORD_COMMON = "password.common"
    PASSWORD_NAME = "password.name"
    PASSWORD_SAME = "password.same"
    PASSWORD_WRONG_CURRENT = "password.wrong_current"
    # media, enrolment and batches
    MEDIA_UNREADABLE = "media.unreadable"
    MEDIA_UNSUPPORTED = "media.unsupported"
    ENROL_NO_FACE = "enrol.no_face"
    ENROL_MANY_FACES = "enrol.many_faces"
    ENROL_FACE_SMALL = "enrol.face_small"
    ENROL_POOR_QUALITY = "enrol.poor_quality"
    ENROL_NONE_USABLE = "enrol.none_usable"
    ENROL_DUPLICATE = "enrol.duplicate"  # the photo is already one of this artist's references
    ENROL_OTHER_ARTIST = "enrol.other_artist"  # the same photo file is already another artist's reference
    ENROL_BAD_NAME = "enrol.bad_name"  # a name with control or text-direction characters
    REEMBED_VAULT_MISSING = "reembed.vault_missing"
    REEMBED_UNREADABLE = "reembed.unreadable"
    BATCH_PARTLY_FAILED = "batch.partly_failed"
    UPLOAD_NOT_STORED = "upload.not_stored"  # the spool could not be written (disk full, a refused name)
    # media decoding and its safety limits (the original stays preserved)
    MEDIA_CORRUPT = "media.corrupt"
    MEDIA_PIXEL_LIMIT = "media.pixel_limit"
    MEDIA_BOMB = "media.bomb"
    MEDIA_FRAME_LIMIT = "media.frame_limit"
    MEDIA_TOO_LONG = "media.too_long"
    MEDIA_NO_VIDEO = "media.no_video"
    MEDIA_NO_FRAMES = "media.no_frames"
    # intake: files, archives, the source URL, the disk
    INPUT_EMPTY = "input.empty"
    INPUT_TOO_LARGE = "input.too_large"
    UPLOAD_INTERRUPTED = "upload.interrupted"  # a web upload whose receiving process died (web.jobs)
    UPLOAD_EXPIRED = "upload.expired"  # its request came to queue it after the sweep had closed it (web.jobs)
    REQUEST_TOO_LARGE = "request.too_large"  # a web request body that is not a file upload (the API's JSON)
    INPUT_CHANGED = "input.changed"
    INPUT_SEEN_AT = "input.seen_at"
    ARCHIVE_ENTRIES = "archive.entries"
    ARCHIVE_BOMB = "archive.bomb"
    ARCHIVE_MEMBER_BOMB = "archive.member_bomb"
    ARCHIVE_CORRUPT = "archive.corrupt"
    ARCHIVE_MEMBER_NAME = "archive.member_name"  # an entry with no usable name (empty, a NUL byte)
    ARCHIVE_MEMBER_PATH = "archive.member_path"  # one member not stored (intake.archives.MEMBER_FORMS)...
    ARCHIVE_MEMBER_LINK = "archive.member_link"
    ARCHIVE_MEMBER_ENCRYPTED = "archive.member_encrypted"
    ARCHIVE_MEMBER_TOO_LARGE = "archive.member_too_large"
    ARCHIVE_MEMBER_RATIO = "archive.member_ratio"
    ARCHIVE_TOTAL_SIZE = "archive.total_size"
    SOURCE_URL_TOO_LONG = "source_url.too_long"
    SOURCE_URL_SPACES = "source_url.spaces"
    SOURCE_URL_NOT_WEB = "source_url.not_web"
    SOURCE_URL_INVALID = "source_url.invalid"
    SOURCE_URL_NO_HOST = "source_url.no_host"
    STORAGE_FULL = "storage.full"
    # analysis stages (a stage's failure, stored beside its English text in the stage result)
    STAGE_INTERNAL = "stage.internal"
    STAGE_MISSING_RESOURCE = "stage.missing_resource"
    # the vault (stored evidence)
    VAULT_MISSING = "vault.missing"
    VAULT_ERASED = "vault.erased"  # erased by a signed destruction decision: not analysed again
    VAULT_ALTERED = "vault.altered"
    VAULT_ITEM_KEY_MISSING = "vault.item_key_missing"
    VAULT_NOT_ENCRYPTED = "vault.not_encrypted"
    VAULT_REENCRYPT_FAILED = "vault.reencrypt_failed"
    VAULT_KEY_UNDECIDED = "vault.key_undecided"
    # exports and folders
    EXPORT_EXISTS = "export.exists"
    FOLDER_UNWRITABLE = "folder.unwritable"
    # cases and accounts
    CASE_UNKNOWN = "case.unknown"
    CASE_NEEDS_TITLE = "case.needs_title"
    CASE_NEEDS_ARTIST = "case.needs_artist"
    CASE_REF_UNREADABLE = "case.ref_unreadable"
    CASE_REF_AMBIGUOUS = "case.ref_ambiguous"
    CASE_REF_KIND = "case.ref_kind"
    CASE_REF_NUMBER = "case.ref_number"
    CASE_REF_ACCOUNT = "case.ref_account"
    CASE_STATUS_UNKNOWN = "case.status_unknown"
    CASE_FILING_KIND = "case.filing_kind"
    CASE_ROLE_UNKNOWN = "case.role_unknown"
    CASE_NEEDS_ASSIGNEE = "case.needs_assignee"
    ACCOUNT_NEEDS_HANDLE = "account.needs_handle"
    ACCOUNT_LINK_REASON = "account.link_reason"
    ACCOUNT_SELF_ALIAS = "account.self_alias"
    ACCOUNT_ALREADY_LINKED = "account.already_linked"
    # takedown notices
    TAKEDOWN_HEADER_INJECTION = "takedown.header_injection"
    TAKEDOWN_WRONG_BASIS = "takedown.wrong_basis"
    TAKEDOWN_LANG = "takedown.lang"
    TAKEDOWN_NEEDS_ADDRESS = "takedown.needs_address"
    TAKEDOWN_NOT_WEB_URL = "takedown.not_web_url"
    TAKEDOWN_OTHER_CHANNEL = "takedown.other_channel"
    TAKEDOWN_NOT_STORED = "takedown.not_stored"
    TAKEDOWN_BAD_STATUS = "takedown.bad_status"
    TAKEDOWN_NOT_ESCALATABLE = "takedown.not_escalatable"
    TAKEDOWN_NOT_DUE = "takedown.not_due"
    TAKEDOWN_NOT_IN_CASE = "takedown.not_in_case"
    TAKEDOWN_AFFIRM = "takedown.affirm"
    TAKEDOWN_MISSING = "takedown.missing"
    TAKEDOWN_UNKNOWN_BASIS = "takedown.unknown_basis"
    TAKEDOWN_UNKNOWN_RECIPIENT = "takedown.unknown_recipient"
    # incidents, triage and watched sources
    INCIDENT_MERGED = "incident.merged"
    INCIDENT_STATE = "incident.state"
    TRIAGE_STATUS = "triage.status"
    TRIAGE_CONFLICT = "triage.conflict"
    COMMENT_EMPTY = "comment.empty"
    COMMENT_TOO_LONG = "comment.too_long"
    WATCH_INTERVAL = "watch.interval"
    WATCH_INTERVAL_SHORT = "watch.interval_short"
    WATCH_KIND = "watch.kind"
    WATCH_URL = "watch.url"
    WATCH_DUPLICATE = "watch.duplicate"
    # hash banks and the hash lists imported into them
    BANK_UNKNOWN = "bank.unknown"
    BANK_KIND_MISMATCH = "bank.kind_mismatch"
    BANK_KIND_INVALID = "bank.kind_invalid"
    BANK_THRESHOLD = "bank.threshold"
    BANK_NAME_INVALID = "bank.name_invalid"
    BANK_EXISTS = "bank.exists"
    BANK_NO_ENTRY = "bank.no_entry"
    BANK_MANAGED = "bank.managed"  # an artist's official collection: ``artists official`` finds it by name
    BANK_NAME_OFFICIAL = "bank.name_official"  # ``official.*`` names are kept for official collections
    BANK_NAME_TRIAGE = "bank.name_triage"  # ``known_abuse`` is the web triage's bank: only of that kind
    BANK_NOT_EMPTY = "bank.not_empty"
    BANK_HAS_MATCHES = "bank.has_matches"
    BANK_FORCE_REASON = "bank.force_reason"  # ``bank delete --force`` without a reason
    BANK_ENTRY_HAS_MATCHES = "bank.entry_has_matches"  # ``bank remove NAME ENTRY`` of an entry items matched
    HASHES_FORMAT = "hashes.format"
    HASHES_CSV_HEADER = "hashes.csv_header"
    HASHES_NOT_TEXT = "hashes.not_text"
    HASHES_JSON = "hashes.json"


class IdolGuardError(Exception):
    """Base class: the message is shown to the user as-is (CLI); ``code`` and ``params`` let other front doors
    say it in their reader's language. A subclass sets its default ``code``; a raise site may name a finer one."""

    code: ClassVar[ErrorCode] = ErrorCode.GENERIC

    def __init__(self, *args: object, code: ErrorCode | None = None, **params: Any) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code  # type: ignore[misc]  # the instance's own, finer code
        self.params: dict[str, Any] = params


class WorkspaceError(IdolGuardError):
    """The workspace is missing, unreadable or inconsistent."""


class RejectedInput(IdolGuardError):
    """A file or archive was refused before anything was stored (empty, too large, unsafe, changing)."""


class MediaError(IdolGuardError):
    """Media could not be decoded or breaks a safety limit; the original stays preserved."""

    code = ErrorCode.MEDIA_UNREADABLE


class IntegrityError(IdolGuardError):
    """Stored evidence does not match what was recorded."""


class StorageFull(IdolGuardError):
    """The disk (or quota) holding the workspace is full: the run stops; what was committed stays valid."""

    code = ErrorCode.STORAGE_FULL


def code_of(error: BaseException) -> ErrorCode:
    """The error's code (``GENERIC`` for anything that is not one of ours)."""
    return getattr(error, "code", ErrorCode.GENERIC) if isinstance(error, IdolGuardError) else ErrorCode.GENERIC


def error_params(error: BaseException) -> dict[str, Any]:
    """The values an error's message names, as short strings and numbers fit to store next to its code (a
    job's result, a link's row): never media or file contents."""
    params = getattr(error, "params", {}) if isinstance(error, IdolGuardError) else {}
    return {k: v if isinstance(v, int | float) else str(v)[:500] for k, v in params.items()}
