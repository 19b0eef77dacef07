"""Read side of captures: the list, one capture with where each preserved file is, and exporting those files.

Preserved files live in the vault under their SHA-256 (byte-exact originals; ciphertext when the workspace
encrypts evidence at rest), so ``capture show`` gives their vault paths, and ``--export`` writes plain copies
into a new folder with one custody event naming every file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from idolguard.capture.models import Capture, CaptureMedia
from idolguard.errors import ErrorCode, IdolGuardError
from idolguard.evidence.actions import Action
from idolguard.workspace import Workspace

EXTENSIONS = {
    "screenshot": ".png",
    "pdf": ".pdf",
    "page": ".html",
    "warc": ".warc.gz",
    "wacz": ".wacz",
    "manifest": ".json",
    "tsa_token": ".tsr",
}


# The fixed sentences capture wrote for a media file it did not keep, by code: rows stored before
# ``capture_media.error_code`` (migration 0660) get their code back from their text. Other texts (a network
# error's own words) stay as stored, in English.
MEDIA_FORMS: tuple[tuple[str, str], ...] = (
    (str(ErrorCode.CAPTURE_MEDIA_SKIPPED), "skipped: {reason}"),
    (str(ErrorCode.CAPTURE_MEDIA_HTTP), "HTTP {status}"),
    (str(ErrorCode.CAPTURE_MEDIA_NOT_MEDIA), "not an image or video ({mime})"),
    (str(ErrorCode.CAPTURE_MEDIA_NOT_STORED), "not stored"),
)


def media_problem(error: str | None, code: str | None, params: dict[str, Any] | None) -> dict[str, Any]:
    """Why a media file of a capture was not kept: ``error`` (the English text, as stored), ``error_code`` and
    ``error_params`` (as stored; for an older row, recognised from its text, else ``None``)."""
    if error and not code:
        from idolguard.coded_text import recognise

        found = recognise(error, MEDIA_FORMS)
        if found:
            code, params = found["code"], found["params"]
    return {
        "error": error,
        "error_code": code if error else None,
        "error_params": (params or {}) if code and error else None,
    }


# The fixed sentences capture wrote for a problem of the whole capture (``captures.errors``), by code: rows
# stored before ``captures.error_codes`` (migration 0670) get their code back from their text. A media file's
# download failure is said as such (``capture.media_failed``), also where it was the page's download or time
# limit (the count of media skipped after it was not in the text). Other texts (a network error's own words, a
# refused address) stay as stored, said through the CLI's text templates.
PROBLEM_FORMS: tuple[tuple[str, str], ...] = (
    (str(ErrorCode.CAPTURE_INTERNAL), "internal error during capture: {error}"),
    (str(ErrorCode.CAPTURE_HTTP_STATUS), "the page answered HTTP {status} {reason}"),
    (str(ErrorCode.CAPTURE_HTTP_STATUS), "the page answered HTTP {status}"),
    (str(ErrorCode.CAPTURE_TLS_UNTRUSTED), "TLS certificate not trusted: {reason} (captured anyway)"),
    (str(ErrorCode.CAPTURE_PAGE_BODY), "page body: {error}"),
    (str(ErrorCode.CAPTURE_EXTRACTOR), "yt-dlp ({extractor}): {error}"),
    (
        str(ErrorCode.CAPTURE_MEDIA_LIMIT),
        "media limit of {limit} files per URL reached; {skipped} more links skipped",
    ),
    (str(ErrorCode.CAPTURE_MEDIA_FAILED), "media {url}: {error}"),
    (str(ErrorCode.CAPTURE_NO_BROWSER), "screenshot skipped: {reason}"),
    (str(ErrorCode.CAPTURE_MANIFEST), "manifest not stored: {error}"),
    (str(ErrorCode.CAPTURE_TIMESTAMP), "timestamp from {tsa} failed: {error}"),
)


def problem_codes(errors: list[Any] | None, stored: list[Any] | None) -> list[dict[str, Any] | None]:
    """The code and values (``{"code", "params"}``) of each of a capture's problems, or ``None``, in the order of
    ``errors``: as stored beside them (``captures.error_codes``), else, for a row from before the codes,
    recognised from its text (``PROBLEM_FORMS``; the browser's problems by ``browser.RENDER_FORMS``)."""
    from idolguard.coded_text import coded, recognise

    texts = [str(error) for error in errors or []]
    if stored is not None and len(stored) == len(texts):
        return [
            coded(str(c["code"]), **(c.get("params") or {})) if isinstance(c, dict) and c.get("code") else None
            for c in stored
        ]
    found: list[dict[str, Any] | None] = []
    for text in texts:
        if text.startswith("browser: "):
            from idolguard.capture.browser import RENDER_FORMS

            found.append(recognise(text[len("browser: ") :], RENDER_FORMS) or coded(str(ErrorCode.CAPTURE_BROWSER)))
        else:
            found.append(recognise(text, PROBLEM_FORMS))
    return found


def list_captures(ws: Workspace, *, limit: int | None = None) -> list[dict[str, Any]]:
    with ws.sessions() as session:
        query = select(Capture).order_by(Capture.id.desc())
        if limit:
            query = query.limit(limit)
        captures = session.execute(query).scalars().all()
        counts = dict(
            session.execute(
                select(CaptureMedia.capture_id, func.count(CaptureMedia.item_sha256)).group_by(CaptureMedia.capture_id)
            )
            .tuples()
            .all()
        )
    return [
        {
            "id": c.id,
            "state": c.state,
            "requested_url": c.requested_url,
            "final_url": c.final_url,
            "http_status": c.http_status,
            "captured_at": c.captured_at.isoformat(),
            "actor": c.actor,
            "note": c.note,
            "media": int(counts.get(c.id, 0)),
            "timestamps": len(c.timestamps or []),
            "timestamps_ok": len([t for t in c.timestamps or [] if t.get("ok")]),
            "manifest_sha256": c.manifest_sha256,
            "error": c.error,
        }
        for c in captures
    ]


def _files(ws: Workspace, capture: Capture) -> list[dict[str, Any]]:
    """Every preserved file of a capture: kind, hash, and its path on disk (None when encrypted at rest)."""
    found: list[tuple[str, str, str | None]] = []
    for kind, info in sorted((capture.artifacts or {}).items()):
        if isinstance(info, dict) and info.get("sha256"):
            found.append((kind, info["sha256"], info.get("mime")))
    if capture.manifest_sha256:
        found.append(("manifest", capture.manifest_sha256, "application/json"))
    for stamp in capture.timestamps or []:
        if stamp.get("token_sha256"):
            found.append(("tsa_token", stamp["token_sha256"], "application/timestamp-reply"))
    files = []
    for kind, sha, mime in found:
        path = None if ws.vault.encrypted else ws.vault.path_for(sha)
        entry: dict[str, Any] = {"kind": kind, "sha256": sha, "mime": mime, "path": str(path) if path else None}
        if kind == "tsa_token":
            entry["tsa_url"] = next(
                (t.get("tsa_url") for t in capture.timestamps or [] if t.get("token_sha256") == sha), None
            )
        if kind == "wacz":
            plain = ws.home / "captures" / f"capture-{capture.id}-{sha[:12]}.wacz"
            entry["replay_copy"] = str(plain) if plain.exists() else None
        files.append(entry)
    return files


def capture_detail(ws: Workspace, capture_id: int) -> dict[str, Any]:
    with ws.sessions() as session:
        capture = session.get(Capture, capture_id)
        if capture is None:
            raise IdolGuardError(
                f"no capture {capture_id} (see `idolguard capture list`)",
                code=ErrorCode.RECORD_UNKNOWN,
                ref=f"capture:{capture_id}",
            )
        media = session.execute(
            select(CaptureMedia).where(CaptureMedia.capture_id == capture_id).order_by(CaptureMedia.id)
        ).scalars()
        media_rows = [
            {
                "url": m.url,
                "via": m.via,
                "item_sha256": m.item_sha256,
                "media_type": m.media_type,
                **media_problem(m.error, m.error_code, m.error_params),
            }
            for m in media
        ]
        return {
            "id": capture.id,
            "state": capture.state,
            "requested_url": capture.requested_url,
            "final_url": capture.final_url,
            "http_status": capture.http_status,
            "captured_at": capture.captured_at.isoformat(),
            "finished_at": capture.finished_at.isoformat() if capture.finished_at else None,
            "actor": capture.actor,
            "note": capture.note,
            "server_ip": capture.server_ip,
            "title": capture.page_title,
            "context": capture.context,
            "timestamps": capture.timestamps,
            "files": _files(ws, capture),
            "media": media_rows,
            "errors": capture.errors or [],  # in English, as stored
            # ... and each one's code and values (or None), in the same order: said in the reader's language
            "error_codes": problem_codes(capture.errors, capture.error_codes),
        }


def export_capture(ws: Workspace, detail: dict[str, Any], dest: Path, reason: str | None) -> list[str]:
    """Write plain copies of a capture's files and media into ``dest`` (a new folder), re-hashed on the way,
    and record one ``export`` custody event listing them. Returns the written paths."""
    if dest.exists():
        raise IdolGuardError(
            f"{dest} exists; give a new folder for --export", code=ErrorCode.EXPORT_EXISTS, name=dest.name
        )
    wanted = [(f["kind"], f["sha256"]) for f in detail["files"]]
    wanted += [("media", m["item_sha256"]) for m in detail["media"] if m["item_sha256"]]
    try:
        dest.mkdir(parents=True)
    except OSError as exc:
        raise IdolGuardError(
            f"cannot create {dest}: {exc.strerror or exc}", code=ErrorCode.FOLDER_UNWRITABLE, name=dest.name
        ) from exc
    written: list[str] = []
    for index, (kind, sha) in enumerate(dict.fromkeys(wanted)):
        name = f"{index:02d}-{kind}-{sha[:12]}{EXTENSIONS.get(kind, '')}"
        ws.vault.export(sha, dest / name)
        written.append(str(dest / name))
    with ws.write() as (_session, ledger):
        ledger.append(
            Action.EVIDENCE_EXPORT,
            item=detail["files"][0]["sha256"] if detail["files"] else None,
            details={
                "kind": "capture_files",
                "capture_id": detail["id"],
                "path": str(dest),
                "files": [sha for _, sha in dict.fromkeys(wanted)],
                "reason": reason,
            },
        )
    return written
