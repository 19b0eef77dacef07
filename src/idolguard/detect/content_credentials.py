"""Read C2PA Content Credentials: a second signal, independent of the pixel-level detector.

Generators that follow C2PA (OpenAI, Adobe Firefly, Google, Microsoft, many cameras and editors) sign a
manifest into the file saying how it was made. An action or assertion whose ``digitalSourceType`` is one of
the IPTC "trained algorithmic media" terms declares generative AI. The signature tells whether the manifest
is intact and who signed it. Absence proves nothing (re-uploads usually strip manifests); presence with a
valid signature and an AI source type is strong evidence on its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: IPTC digital source types that mean "made or changed by generative AI".
AI_SOURCE_TYPES = frozenset(
    {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "compositeSynthetic",
        "algorithmicMedia",
    }
)


def _source_type_name(value: Any) -> str:
    text = str(value or "")
    return text.rstrip("/").rsplit("/", 1)[-1]


def _ai_assertions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for assertion in manifest.get("assertions") or []:
        label = str(assertion.get("label", ""))
        data = assertion.get("data") or {}
        if not isinstance(data, dict):
            continue
        candidates: list[dict[str, Any]] = []
        if label.startswith("c2pa.actions"):
            candidates = [a for a in data.get("actions") or [] if isinstance(a, dict)]
        else:
            candidates = [data]
        for item in candidates:
            source = _source_type_name(item.get("digitalSourceType"))
            if source in AI_SOURCE_TYPES:
                agent = item.get("softwareAgent")
                if isinstance(agent, dict):
                    agent = agent.get("name")
                found.append(
                    {
                        "label": label,
                        "action": item.get("action"),
                        "digital_source_type": source,
                        "software_agent": agent,
                    }
                )
    return found


def summarize_manifest_store(store: dict[str, Any]) -> dict[str, Any]:
    """Condense a manifest-store JSON (as the C2PA SDK reports it) into the fields an analyst needs."""
    manifests = store.get("manifests") or {}
    active_label = store.get("active_manifest")
    active = manifests.get(active_label) or {}
    statuses = store.get("validation_status") or []
    codes = [str(s.get("code")) for s in statuses if isinstance(s, dict)]
    state = store.get("validation_state")
    failures = [c for c in codes if not c.endswith((".untrusted", ".trusted", ".validated", ".match"))]
    signature_valid = str(state).lower() in ("valid", "trusted") if state else not failures
    ai: list[dict[str, Any]] = []
    for label, manifest in manifests.items():
        for hit in _ai_assertions(manifest if isinstance(manifest, dict) else {}):
            ai.append({**hit, "manifest": label, "active": label == active_label})
    signature = active.get("signature_info") or {}
    generator = active.get("claim_generator")
    if not generator and active.get("claim_generator_info"):
        info = active["claim_generator_info"]
        generator = info[0].get("name") if isinstance(info, list) and info else None
    return {
        "present": True,
        "validation_state": state,
        "signature_valid": bool(signature_valid),
        "trusted_signer": str(state).lower() == "trusted" if state else None,
        "validation_codes": codes,
        "signer": signature.get("issuer") or signature.get("common_name"),
        "signed_at": signature.get("time"),
        "claim_generator": generator,
        "title": active.get("title"),
        "manifests": len(manifests),
        "ai_generated": bool(ai),
        "ai_assertions": ai,
    }


# Why Content Credentials could not be read or verified: ``error`` keeps the English (stored, read by ``--json``
# and API consumers), ``error_code``/``error_params`` say it for pages in other languages (``coded_text``).
NOT_INSTALLED = "c2pa-python is not installed"
C2PA_PROBLEMS = ("c2pa.not_installed", "c2pa.unreadable")  # unreadable: {detail}, the C2PA library's message


def _problem(summary: dict[str, Any], detail: str) -> dict[str, Any]:
    from idolguard.coded_text import put

    if detail == NOT_INSTALLED:
        put(summary, "error", detail, "c2pa.not_installed")
    else:
        put(summary, "error", detail, "c2pa.unreadable", detail=detail)
    return summary


def problem_code(credentials: dict[str, Any]) -> tuple[str, str]:
    """The code and the library's words of a stored ``error`` (a result stored before codes: from its text)."""
    detail = str(credentials.get("error") or "")
    code = credentials.get("error_code")
    if code in C2PA_PROBLEMS:
        return str(code), str((credentials.get("error_params") or {}).get("detail", detail))
    return ("c2pa.not_installed" if detail == NOT_INSTALLED else "c2pa.unreadable"), detail


def read_content_credentials(path: Path, mime: str | None = None) -> dict[str, Any]:
    """Content Credentials of a file: ``{"present": False}`` when there are none, else a summary.

    Never raises for a bad or unsupported file: a broken manifest is reported as present but invalid,
    because a tampered manifest is itself worth recording.
    """
    try:
        import c2pa
    except ImportError:
        return _problem({"present": None}, NOT_INSTALLED)
    try:
        reader = c2pa.Reader.try_create(str(path))
    except c2pa.C2paError as exc:
        message = str(exc)
        if "not supported" in message.lower() or "could not be parsed" in message.lower() or "type" in message.lower():
            return {"present": False, "note": f"not readable for C2PA: {message}"}
        return _problem({"present": True, "signature_valid": False, "ai_generated": False}, message)
    except (OSError, ValueError) as exc:
        return {"present": False, "note": f"not readable for C2PA: {exc}"}
    if reader is None:
        return {"present": False}
    try:
        with reader:
            store = json.loads(reader.json())
    except (c2pa.C2paError, ValueError) as exc:
        return _problem({"present": True, "signature_valid": False, "ai_generated": False}, str(exc))
    return summarize_manifest_store(store)
