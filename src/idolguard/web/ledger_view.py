"""The audit log (``/admin/ledger``) as admins read it: times in their zone, actions by name in their language,
details as labelled values (the item page's custody sentences where they exist), the raw JSON only on request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from idolguard.web.explain import ACTIONS, FIELDS, _value, event_error, stamp
from idolguard.web.i18n import N_

Gettext = Callable[..., str]

# Every action in evidence/actions.py that the item page's list does not already name.
MORE_ACTIONS = {
    "ledger.genesis": N_("Ledger started"),
    "ledger.rotate_key": N_("Signing key rotated"),
    "ledger.anchor": N_("Ledger timestamped"),
    "report.export": N_("Report exported"),
    "gallery.enrol": N_("Artist enrolled"),
    "gallery.unenrol": N_("Artist removed"),
    "gallery.set_threshold": N_("Match threshold changed"),
    "gallery.add_cohort": N_("Comparison faces added"),
    "gallery.set_consent": N_("Consent recorded"),
    "gallery.alias": N_("Artist alias added"),
    "gallery.group": N_("Artist group set"),
    "gallery.remove_photo": N_("Reference photo removed"),
    "detect.calibrate": N_("Detector calibrated"),
    "capture.start": N_("Capture started"),
    "capture.fetch": N_("Page fetched"),
    "capture.archive": N_("Capture archive stored"),
    "capture.timestamp": N_("Trusted timestamp obtained"),
    "capture.finish": N_("Capture finished"),
    "capture.recheck": N_("Link checked again"),
    "bank.create": N_("Hash bank created"),
    "bank.enable": N_("Hash bank enabled"),
    "bank.disable": N_("Hash bank disabled"),
    "bank.rename": N_("Hash bank renamed"),
    "bank.delete": N_("Hash bank deleted"),
    "hashes.export": N_("Hashes exported"),
    "incident.merge": N_("Incidents merged"),
    "incident.status": N_("Incident state changed"),
    "web.job_submit": N_("Job submitted"),
    "web.ip_lockout": N_("Address locked out after failed sign-ins"),
    "web.lockout": N_("Account locked after failed sign-ins"),
    "web.login": N_("Signed in"),
    "web.login_failed": N_("Sign-in failed"),
    "web.login_password_ok": N_("Password accepted (second factor pending)"),
    "web.logout": N_("Signed out"),
    "web.password_set": N_("Password changed"),
    "web.setting": N_("Setting changed"),
    "web.token_create": N_("API token issued"),
    "web.token_revoke": N_("API token revoked"),
    "web.totp_reset": N_("Two-factor authentication reset"),
    "web.user_add": N_("User added"),
    "web.user_change": N_("User role or scope changed"),
    "web.user_disable": N_("User disabled"),
    "web.user_enable": N_("User enabled again"),
    "case.assign": N_("Case assigned"),
    "case.destroy": N_("Case evidence destroyed"),
    "case.destroy_approve": N_("Destruction approved"),
    "case.destroy_finish": N_("Interrupted destruction finished"),
    "vault.rekey": N_("Vault objects given their own keys"),
    "case.hold": N_("Legal hold changed"),
    "case.link": N_("Records linked to a case"),
    "case.note": N_("Case note"),
    "case.open": N_("Case opened"),
    "case.package": N_("Evidence package requested"),
    "case.package_written": N_("Evidence package written"),
    "case.report": N_("Case report written"),
    "case.retention": N_("Retention changed"),
    "case.status": N_("Case status changed"),
    "case.unassign": N_("Case assignment removed"),
    "account.alias": N_("Account alias recorded"),
    "account.record": N_("Account recorded"),
    "takedown.draft": N_("Takedown notice drafted"),
    "takedown.send": N_("Takedown notice sent"),
    "takedown.send_failed": N_("Takedown sending failed"),
    "takedown.status": N_("Takedown status changed"),
    "takedown.sync": N_("Takedown status synchronised"),
    "monitor.add": N_("Watch added"),
    "monitor.pause": N_("Watch paused"),
    "monitor.resume": N_("Watch resumed"),
    "monitor.remove": N_("Watch removed"),
    "monitor.run": N_("Watch run"),
    "monitor.found": N_("Watch found new media"),
    "monitor.gone": N_("Watched media gone"),
    "monitor.back": N_("Watched media back"),
    "portal.report": N_("Public report received"),
    "portal.link_captured": N_("Reported link captured"),
    "portal.link_known": N_("Reported link already known"),
    "portal.decide": N_("Public report decided"),
}
ACTION_NAMES = {**ACTIONS, **MORE_ACTIONS}


def action_name(code: str, gettext: Gettext) -> str:
    return gettext(ACTION_NAMES[code]) if code in ACTION_NAMES else code


# Labels for further detail keys that many web events carry.
MORE_FIELDS = {"from": N_("before"), "to": N_("after"), "role": N_("role"), "artists": N_("artist scope")}
# And those of the bank events (``bank.rename``, ``bank.delete``, ``bank.remove``...), so a Korean reader does not
# get raw keys; only for ``bank.*`` actions (other events use ``kind`` or ``entries`` for other things).
BANK_FIELDS = {
    "new_name": N_("new name"),
    "kind": N_("bank kind"),
    "entries": N_("entries"),
    "entry": N_("bank entry"),
    "entries_removed": N_("entries removed"),
    "forced": N_("with its entries (--force)"),
    "bank_id": N_("bank number"),
    "entry_ids": N_("removed entry numbers"),
    "entries_sha256": N_("removed entries (SHA-256 of the list)"),
}
BANK_KINDS = {"known_abuse": N_("known_abuse"), "negative": N_("negative"), "partner": N_("partner")}


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_plain(item) or '-'}" for key, item in value.items())
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def detail_pairs(details: Any, gettext: Gettext, action: str = "") -> list[tuple[str, str]]:
    """Each detail as (label, value): known fields with their translated label and value, others by key, in
    plain text (no escapes); long values cut (the full record is in the raw JSON)."""
    if not isinstance(details, dict):
        return [] if details in (None, "", {}) else [("", _plain(details))]
    pairs = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        if key in ("error_code", "error_params") and details.get("error"):
            continue  # said with the error (below), in the reader's language
        if key == "error" and isinstance(details.get("error_code"), str):
            pairs.append((gettext(FIELDS["error"]), event_error(details, gettext)))
            continue
        bank_event = action.startswith("bank.")
        named = FIELDS.get(key) or MORE_FIELDS.get(key) or (BANK_FIELDS.get(key) if bank_event else None)
        label = gettext(named) if named else key.replace("_", " ")
        known = key in FIELDS or key in ("from", "to")
        if bank_event and key == "kind" and value in BANK_KINDS:
            shown = gettext(BANK_KINDS[value])
        elif isinstance(value, bool) or (known and isinstance(value, str | int)):
            shown = _value(key, value, gettext)  # yes / no, translated codes
        else:
            shown = _plain(value)
        pairs.append((label, shown if len(shown) <= 300 else shown[:300] + "…"))
    return pairs


def ledger_rows(entries: list[Any], gettext: Gettext, tz: str) -> list[dict[str, Any]]:
    return [
        {
            "seq": entry.seq,
            "time": stamp(entry.ts, tz),
            "actor": str(entry.actor),
            "action": action_name(str(entry.action), gettext),
            "code": str(entry.action),
            "item": entry.item_sha256,
            "pairs": detail_pairs(entry.details, gettext, str(entry.action)),
            "raw": json.dumps(entry.details, ensure_ascii=False, sort_keys=True, indent=1),
        }
        for entry in entries
    ]
