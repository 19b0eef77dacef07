"""The closed set of custody actions: every ledger entry names one of these, in ``area.verb`` style.

A ledger that anyone may fill with free-form action names cannot be read by counsel or checked by ``verify``:
the verifier reasons about what each event means (an ``intake.ingest`` promises an item, a
``pipeline.analyse`` promises a stage result). So writers may only append the actions listed here, each is
documented in docs/EVIDENCE.md (a test fails when one is not), and the names written before this list
existed stay readable through :data:`LEGACY_NAMES` (the ledger is append-only; old entries are never
rewritten).
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # ledger and keys
    LEDGER_GENESIS = "ledger.genesis"  # first entry of a new ledger: pins the signing key's fingerprint
    LEDGER_ROTATE_KEY = "ledger.rotate_key"  # signed by the old key: names the next key (and its public bytes)
    LEDGER_ANCHOR = "ledger.anchor"  # RFC 3161 tokens were obtained for an earlier head
    # evidence: intake and custody
    INTAKE_INGEST = "intake.ingest"  # a new item stored, with its first sighting
    INTAKE_SIGHTING = "intake.sighting"  # a known item submitted again from another place or context
    INTAKE_FINDING = "intake.finding"  # something suspicious about an item (e.g. data after the image end)
    PIPELINE_ANALYSE = "pipeline.analyse"  # one stage version ran on one item (output hash, derived files)
    EVIDENCE_EXPORT = "evidence.export"  # original bytes written out, with the reason
    EVIDENCE_VERIFY = "evidence.verify"  # a verification ran and what it found
    REPORT_EXPORT = "report.export"  # an HTML report written, with its hash
    VAULT_REKEY = "vault.rekey"  # objects re-encrypted under their own item keys (same plaintext hash)
    # gallery (reference faces of protected artists)
    GALLERY_ENROL = "gallery.enrol"
    GALLERY_UNENROL = "gallery.unenrol"
    GALLERY_SET_THRESHOLD = "gallery.set_threshold"
    GALLERY_ADD_COHORT = "gallery.add_cohort"
    GALLERY_SET_CONSENT = "gallery.set_consent"
    # detector
    DETECT_CALIBRATE = "detect.calibrate"
    # web capture
    CAPTURE_START = "capture.start"
    CAPTURE_FETCH = "capture.fetch"
    CAPTURE_MEDIA = "capture.media"
    CAPTURE_RENDER = "capture.render"
    CAPTURE_ARCHIVE = "capture.archive"
    CAPTURE_MANIFEST = "capture.manifest"
    CAPTURE_TIMESTAMP = "capture.timestamp"
    CAPTURE_FINISH = "capture.finish"
    CAPTURE_RECHECK = "capture.recheck"
    # hash banks and exchange
    BANK_CREATE = "bank.create"
    BANK_ADD = "bank.add"
    BANK_REMOVE = "bank.remove"
    BANK_ENABLE = "bank.enable"
    BANK_DISABLE = "bank.disable"
    BANK_RENAME = "bank.rename"  # a bank's name changed (entries, ids, matches unchanged)
    BANK_DELETE = "bank.delete"  # a bank without recorded matches deleted, with its entries (``bank delete``)
    HASHES_EXPORT = "hashes.export"
    # incidents
    INCIDENT_CREATE = "incident.create"
    INCIDENT_ADD = "incident.add"
    INCIDENT_MERGE = "incident.merge"
    INCIDENT_STATUS = "incident.status"
    # the web app (docs/EVIDENCE.md, "Web app custody events")
    WEB_ASSIGN = "web.assign"
    WEB_COMMENT = "web.comment"
    WEB_DECISION = "web.decision"
    WEB_DOWNLOAD_ORIGINAL = "web.download_original"
    WEB_DOWNLOAD_WACZ = "web.download_wacz"
    WEB_JOB_SUBMIT = "web.job_submit"
    WEB_JOB_EXPIRE = "web.job_expire"
    WEB_IP_LOCKOUT = "web.ip_lockout"
    WEB_LOCKOUT = "web.lockout"
    WEB_LOGIN = "web.login"
    WEB_LOGIN_FAILED = "web.login_failed"
    WEB_LOGIN_PASSWORD_OK = "web.login_password_ok"
    WEB_LOGOUT = "web.logout"
    WEB_PASSWORD_SET = "web.password_set"
    WEB_REVEAL = "web.reveal"
    WEB_SETTING = "web.setting"
    WEB_TOKEN_CREATE = "web.token_create"
    WEB_TOKEN_REVOKE = "web.token_revoke"
    WEB_TOTP_RESET = "web.totp_reset"
    WEB_USER_ADD = "web.user_add"
    WEB_USER_CHANGE = "web.user_change"
    WEB_USER_DISABLE = "web.user_disable"
    WEB_USER_ENABLE = "web.user_enable"
    # cases and further gallery actions (docs/EVIDENCE.md, their areas' tables)
    CASE_ASSIGN = "case.assign"
    CASE_DESTROY = "case.destroy"
    CASE_DESTROY_APPROVE = "case.destroy_approve"
    CASE_DESTROY_FINISH = "case.destroy_finish"  # an interrupted erasure finished: what was still left
    CASE_HOLD = "case.hold"
    CASE_LINK = "case.link"
    CASE_NOTE = "case.note"
    CASE_OPEN = "case.open"
    CASE_PACKAGE = "case.package"
    CASE_PACKAGE_WRITTEN = "case.package_written"
    CASE_REPORT = "case.report"
    CASE_RETENTION = "case.retention"
    CASE_STATUS = "case.status"
    CASE_UNASSIGN = "case.unassign"
    GALLERY_ALIAS = "gallery.alias"
    GALLERY_GROUP = "gallery.group"
    GALLERY_REMOVE_PHOTO = "gallery.remove_photo"
    GALLERY_REEMBED = "gallery.reembed"
    GALLERY_OFFICIAL_ADD = "gallery.official_add"
    GALLERY_OFFICIAL_REMOVE = "gallery.official_remove"
    # takedowns, accounts and other areas' actions (docs/EVIDENCE.md, their areas' tables)
    ACCOUNT_ALIAS = "account.alias"
    ACCOUNT_RECORD = "account.record"
    TAKEDOWN_DRAFT = "takedown.draft"
    TAKEDOWN_AFFIRM = "takedown.affirm"
    TAKEDOWN_SEND = "takedown.send"
    TAKEDOWN_SEND_FAILED = "takedown.send_failed"
    TAKEDOWN_STATUS = "takedown.status"
    TAKEDOWN_SYNC = "takedown.sync"
    # monitoring of watched sources (docs/EVIDENCE.md, "Monitoring custody events")
    MONITOR_ADD = "monitor.add"
    MONITOR_PAUSE = "monitor.pause"
    MONITOR_RESUME = "monitor.resume"
    MONITOR_REMOVE = "monitor.remove"
    MONITOR_RUN = "monitor.run"
    MONITOR_FOUND = "monitor.found"
    MONITOR_GONE = "monitor.gone"
    MONITOR_BACK = "monitor.back"
    # the public report portal (docs/EVIDENCE.md, "Portal custody events")
    PORTAL_REPORT = "portal.report"
    PORTAL_LINK_CAPTURED = "portal.link_captured"
    PORTAL_LINK_KNOWN = "portal.link_known"
    PORTAL_DECIDE = "portal.decide"
    PORTAL_RETRY = "portal.retry"


# Names written before the closed set existed -> what they mean now. ``verify`` and ``log`` read both.
LEGACY_NAMES: dict[str, Action] = {
    "ingest": Action.INTAKE_INGEST,
    "sighting": Action.INTAKE_SIGHTING,
    "analysis": Action.PIPELINE_ANALYSE,
    "export": Action.EVIDENCE_EXPORT,  # also carried html reports (details.kind = "html_report")
    "verify": Action.EVIDENCE_VERIFY,
    "enrol": Action.GALLERY_ENROL,
    "unenrol": Action.GALLERY_UNENROL,
    "threshold": Action.GALLERY_SET_THRESHOLD,
    "cohort": Action.GALLERY_ADD_COHORT,
    "calibrate": Action.DETECT_CALIBRATE,
    "capture_start": Action.CAPTURE_START,
    "capture_fetch": Action.CAPTURE_FETCH,
    "capture_media": Action.CAPTURE_MEDIA,
    "capture_render": Action.CAPTURE_RENDER,
    "capture_archive": Action.CAPTURE_ARCHIVE,
    "capture_manifest": Action.CAPTURE_MANIFEST,
    "capture_timestamp": Action.CAPTURE_TIMESTAMP,
    "capture_done": Action.CAPTURE_FINISH,
    "recheck": Action.CAPTURE_RECHECK,
}

# Bank changes drop stored match results (the next scan recomputes them), inside the same signed transaction:
# ``signals.banks.invalidate_matches`` deletes these stages' results, and ``verify`` forgets their analysis events
# at these actions (an official item's removal deletes entries without a ``bank.*`` event of its own).
INVALIDATES_MATCHES = frozenset(
    {Action.BANK_ADD, Action.BANK_REMOVE, Action.BANK_ENABLE, Action.BANK_DISABLE, Action.GALLERY_OFFICIAL_REMOVE}
)
MATCH_STAGES = ("match", "face_match", "source_attribution")


def parse_action(name: object) -> Action | None:
    """The action a stored name means (current or legacy spelling); None for a name outside the set."""
    if not isinstance(name, str):
        return None
    try:
        return Action(name)
    except ValueError:
        return LEGACY_NAMES.get(name)


def writable(action: Action | str) -> Action:
    """Writers may append only current names from the closed set (never legacy or invented ones)."""
    try:
        return Action(action)
    except ValueError:
        raise ValueError(
            f"custody action {action!r} is not in idolguard.evidence.actions.Action (add it there and document it "
            "in docs/EVIDENCE.md)"
        ) from None
