"""Readable, translated explanations for the item page: the manipulation verdict, the item's custody log and
its Content Credentials (C2PA) summary.

The stored analysis explains itself in English (``verdict_reason``), for the command line and the report.
The web page rebuilds the explanation from the structured fields (family scores, thresholds, false-positive
rates, face statuses) so that every sentence comes from the catalog, in the reader's language. The custody
log is shown as sentences in the reader's time zone, from a short list of fields per action: never the
submitter's local file path (``source_path``), client addresses or raw JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import PurePath
from typing import Any

from idolguard.web.i18n import N_, local_time

Gettext = Callable[..., str]

FAMILIES = {
    "face_swap": N_("Face-swap / blending traces (self-blended-image detector)"),
    "synthetic_image": N_("Fully generated face (synthetic-image detector)"),
}
FACE_STATUS = {
    "insufficient_resolution": N_("A face is too small to judge."),
    "not_scored": N_("A face could not be decoded again to be judged."),
    "invalid_box": N_("The face detector returned an unusable box; it was ignored."),
}


def _pct(value: Any) -> str:
    return f"{100 * float(value):.1f}%"


def _band(score: float, limits: dict[str, Any], gettext: Gettext) -> str:
    likely, uncertain = float(limits.get("likely", 1.0)), float(limits.get("uncertain", 1.0))
    if score >= likely:
        return gettext(
            "score {score} is at or above the 'likely' threshold {t}", score=f"{score:.2f}", t=f"{likely:.2f}"
        )
    if score >= uncertain:
        return gettext(
            "score {score} is between the thresholds {low} and {high}",
            score=f"{score:.2f}",
            low=f"{uncertain:.2f}",
            high=f"{likely:.2f}",
        )
    return gettext("score {score} is below the threshold {t}", score=f"{score:.2f}", t=f"{uncertain:.2f}")


def _fpr(value: Any, gettext: Gettext) -> str:
    rate = value.get("rate") if isinstance(value, dict) else value
    if rate is None:
        return ""
    return gettext("{p} of held-out real idol photos score at least this high", p=_pct(rate))


def manipulation_lines(obj: dict[str, Any], gettext: Gettext) -> list[str]:
    """Why the verdict is what it is, one translated sentence per fact."""
    info = obj.get("manipulation") or {}
    if not isinstance(info, dict):
        info = {}
    families = info.get("families") or {}
    lines: list[str] = []
    credentials = obj.get("content_credentials") or {}
    if credentials.get("ai_generated") and credentials.get("signature_valid"):
        lines.append(gettext("Content Credentials with a valid signature declare generative AI."))
    if isinstance(families, dict) and families:
        for name, fam in families.items():
            if not isinstance(fam, dict) or fam.get("score") is None:
                continue
            parts = [_band(float(fam["score"]), fam.get("thresholds") or info.get("thresholds") or {}, gettext)]
            if fam.get("false_positive_rate") is not None:
                parts.append(_fpr(fam["false_positive_rate"], gettext))
            label = gettext(FAMILIES[name]) if name in FAMILIES else name
            facts = [p for p in parts if p]  # the band, then the measured false-positive rate when there is one
            # The join is the catalog's: "; " reads as foreign punctuation inside a Korean sentence.
            said = facts[0] if len(facts) == 1 else gettext("{band}; {rate}", band=facts[0], rate=facts[1])
            lines.append(f"{label}: {gettext(fam.get('verdict') or 'uncertain')} — {said}")
        deciding = info.get("deciding_family")
        if deciding in FAMILIES and len(families) > 1:
            lines.append(
                gettext("The verdict follows the more severe detector: {family}.", family=gettext(FAMILIES[deciding]))
            )
    elif obj.get("media_type") in ("image", "video"):
        faces = info.get("faces") or []
        if not faces and not obj.get("faces"):
            lines.append(gettext("No face found: the face detectors had nothing to judge."))
        for face in faces:
            status = face.get("status") if isinstance(face, dict) else None
            if status in FACE_STATUS:
                lines.append(gettext(FACE_STATUS[status]))
    return lines


def stage_problems(obj: dict[str, Any], gettext: Gettext) -> list[tuple[str, str]]:
    """(step, why) for each analysis stage that failed on the item, in the reader's language: from the code the
    runner stored beside the English text, else from the text (``errors.stored_failure``)."""
    from idolguard.web.errors import stored_failure

    codes = obj.get("stage_error_codes") or {}
    rows = []
    for stage, text in (obj.get("stage_errors") or {}).items():
        coded = codes.get(stage) or {}
        label = gettext(STAGES[stage]) if stage in STAGES else str(stage)
        rows.append((label, stored_failure(gettext, text, coded.get("code"), coded.get("params"), stage=stage)))
    return rows


# --- custody log -----------------------------------------------------------------------------------------

ACTIONS = {
    "intake.ingest": N_("Stored in the evidence vault"),
    "intake.sighting": N_("Seen again (new sighting)"),
    "intake.finding": N_("Finding recorded"),
    "pipeline.analyse": N_("Analysis"),
    "evidence.export": N_("Original exported"),
    "evidence.verify": N_("Verified"),
    "capture.media": N_("Preserved from a captured page"),
    "capture.render": N_("Page screenshot stored"),
    "capture.manifest": N_("Capture manifest stored"),
    "bank.add": N_("Added to a hash bank"),
    "bank.remove": N_("Removed from a hash bank"),
    "incident.add": N_("Added to an incident"),
    "incident.create": N_("Incident opened"),
    "web.reveal": N_("Original revealed"),
    "web.download_original": N_("Original downloaded"),
    "web.download_wacz": N_("Capture archive (WACZ) downloaded"),
    "web.decision": N_("Triage decision"),
    "web.assign": N_("Assigned"),
    "web.comment": N_("Comment"),
}
# What each field means on the page; anything else (paths, client addresses, digests) is left out.
FIELDS = {
    "user": N_("user"),
    "reason": N_("reason"),
    "note": N_("note"),
    "text": N_("text"),
    "stage": N_("stage"),
    "status": N_("result"),
    "platform": N_("platform"),
    "source_url": N_("URL"),
    "account": N_("account"),
    "bank": N_("bank"),
    "incident": N_("incident"),
    "capture_id": N_("capture"),
    "assignee": N_("assignee"),
    "size": N_("size (bytes)"),
    "mime": N_("type"),
    "error": N_("error"),
}
# Pipeline stages (``registry.stage_classes``) by what they do.
STAGES = {
    "probe": N_("file check"),
    "provenance": N_("provenance"),
    "manipulation": N_("manipulation analysis"),
    "faces": N_("face detection"),
    "signals": N_("hashes"),
    "match": N_("hash bank matching"),
    "face_match": N_("artist face matching"),
    "source_attribution": N_("source attribution"),
}
TRANSLATED_VALUES = frozenset(
    {"new", "in_review", "confirmed_abuse", "not_our_artist", "authentic", "duplicate", "ok", "error"}
)


def platform_name(gettext: Gettext, platform: str | None) -> str:
    """A sighting's platform as a reader sees it: the names IdolGuard itself gives (a web upload, a platform
    nobody recorded, the demo) in the reader's words, never the internal code; any other name as recorded."""
    if not platform:
        return "-"
    if platform == "web-upload":
        return gettext("web upload")
    if platform == "unknown":
        return gettext("unknown")
    if platform == "demo":
        return gettext("demo")
    return platform


def _value(key: str, value: Any, gettext: Gettext) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if not isinstance(value, str | int | float):
        return str(value)
    if key == "stage" and value in STAGES:
        return gettext(STAGES[value])
    if key == "platform" and isinstance(value, str):
        return platform_name(gettext, value)
    if key == "bank" and value == "known_abuse":
        return gettext("known_abuse")
    if key in ("status", "from", "to") and value in TRANSLATED_VALUES:
        return gettext(str(value))
    if key == "reason" and isinstance(value, str) and ": " in value:
        code, _text = value.split(": ", 1)
        if code in ("identity_check", "manipulation_check", "legal_review", "takedown_preparation"):
            # the text is the label in the revealer's language: the reader gets it in theirs
            return gettext(code)
    return str(value)


def custody_rows(entries: list[Any], gettext: Gettext, tz: str) -> list[dict[str, str]]:
    """One readable row per custody event: time in the reader's zone, who, what, the safe details."""
    rows = []
    for entry in entries:
        details = entry.details if isinstance(entry.details, dict) else {}
        facts = []
        if "from" in details and "to" in details:
            facts.append(f"{_value('from', details['from'], gettext)} → {_value('to', details['to'], gettext)}")
        for key, label in FIELDS.items():
            value = details.get(key)
            if value in (None, "", [], {}):
                continue
            if key == "error":  # a stage's failure: from its code where the event stored one
                facts.append(f"{gettext(label)}: {event_error(details, gettext)}")
                continue
            facts.append(f"{gettext(label)}: {_value(key, value, gettext)}")
        rows.append(
            {
                "seq": str(entry.seq),
                "time": stamp(entry.ts, tz),
                "actor": str(entry.actor),
                "action": gettext(ACTIONS[entry.action]) if entry.action in ACTIONS else str(entry.action),
                "code": str(entry.action),
                "details": " · ".join(facts),
            }
        )
    return rows


def event_error(details: dict[str, Any], gettext: Gettext) -> str:
    """The ``error`` of a custody event (a stage's failure) in the reader's language: from the ``error_code`` and
    ``error_params`` events carry since they were recorded, else its stored text (``errors.stored_failure``)."""
    from idolguard.web.errors import stored_failure

    stage = details.get("stage")
    return stored_failure(
        gettext,
        details.get("error"),
        details.get("error_code"),
        details.get("error_params"),
        stage=str(stage) if stage else None,
    )


def stamp(ts: Any, tz: str) -> str:
    """A ledger time (ISO text) in the reader's zone."""
    when = ts if isinstance(ts, datetime) else _parse(ts)
    return local_time(when, tz) if when else str(ts)


def _parse(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


def file_name(path: Any) -> str:
    """Only the file's own name: the submitter's folders are theirs (and may say who they are)."""
    return PurePath(str(path)).name if path else ""


# --- Content Credentials ---------------------------------------------------------------------------------


def c2pa_rows(credentials: dict[str, Any] | None, gettext: Gettext, tz: str) -> list[tuple[str, str]]:
    """The C2PA summary's key fields with translated labels (the raw manifest is never on the page)."""
    if not credentials:
        return []
    # The section's heading already says "Content Credentials": the first row says whether the file has them.
    if credentials.get("present") is None and credentials.get("error"):  # never read: not "absent"
        return [
            (gettext("In the file"), gettext("not checked")),
            (gettext("Problem"), c2pa_problem(credentials, gettext)),
        ]
    if not credentials.get("present"):
        return [(gettext("In the file"), gettext("absent"))]
    rows = [(gettext("In the file"), gettext("present"))]

    def yes_no(value: Any) -> str:
        return "-" if value is None else gettext("yes") if value else gettext("no")

    rows.append((gettext("Signature valid"), yes_no(credentials.get("signature_valid"))))
    rows.append((gettext("Trusted signer"), yes_no(credentials.get("trusted_signer"))))
    if credentials.get("signer"):
        rows.append((gettext("Signed by"), str(credentials["signer"])))
    if credentials.get("signed_at"):
        when = _parse(credentials["signed_at"])
        rows.append((gettext("Signed at"), local_time(when, tz) if when else str(credentials["signed_at"])))
    if credentials.get("claim_generator"):
        rows.append((gettext("Made with"), str(credentials["claim_generator"])))
    rows.append((gettext("Declares generative AI"), yes_no(credentials.get("ai_generated"))))
    for assertion in credentials.get("ai_assertions") or []:
        if isinstance(assertion, dict):
            said = assertion.get("digital_source_type") or assertion.get("action") or ""
            agent = assertion.get("software_agent") or ""
            rows.append((gettext("AI assertion"), f"{said} {agent}".strip()))
    if credentials.get("error"):
        rows.append((gettext("Problem"), c2pa_problem(credentials, gettext)))
    return rows


def c2pa_problem(credentials: dict[str, Any], gettext: Gettext) -> str:
    """Why the Content Credentials could not be read or verified, in the reader's language: from the code the
    reader stores beside its English (``content_credentials.C2PA_PROBLEMS``), or, for a result stored before
    codes, from the English itself. The C2PA library's own words are kept, as data, after our sentence."""
    from idolguard.detect.content_credentials import problem_code

    code, detail = problem_code(credentials)
    if code == "c2pa.not_installed":
        return gettext(
            "The Content Credentials reader (c2pa-python) is not installed on this server, so they were not checked."
        )
    return gettext(
        "The Content Credentials could not be read or verified. The C2PA library said: {detail}", detail=detail
    )
