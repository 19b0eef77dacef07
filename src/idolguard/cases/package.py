"""``cases package``: one zip counsel can hand to police or a court and anyone can check offline.

Contents: originals (unless ``--hashes-only``), capture artifacts (WACZ, screenshot, PDF, page, WARC,
manifest, RFC 3161 tokens), the report if given, ``manifest.json`` (every file's SHA-256, size and role;
every item's status, including destroyed ones as hash only) signed by the instance key (``manifest.sig``),
the custody events of everything in the case (``ledger/events.jsonl``, signed lines exactly as in the
ledger), the chain links from the first of them to the ledger head (``ledger/chain.jsonl``), the public key,
and ``verify_package.py`` (standard library + ``cryptography``) with a bilingual README.

The head of the chain is the ``case.package`` event written for this package, which records the manifest's
SHA-256, so the package proves its own place in the custody log. Members are stored uncompressed (media do
not compress; ``zip -0`` speed). The file is written under a temporary name in the destination folder and
renamed only when complete, so an interrupted write leaves no partial package; the size is checked against
the limit before anything is written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select

from idolguard import __version__
from idolguard.cases.models import DestroyedObject
from idolguard.cases.service import CaseError, get_case
from idolguard.cases.views import case_event_seqs, detail_in_session
from idolguard.db.models import LedgerEntry
from idolguard.evidence.actions import Action
from idolguard.evidence.canonical import canonical_bytes
from idolguard.workspace import Workspace

FORMAT = "idolguard-case-package/1"
CHUNK = 1 << 20
DEFAULT_MAX_BYTES = 64 * 1024**3
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
}
CAPTURE_EXT = {"page": ".html", "screenshot": ".png", "pdf": ".pdf", "warc": ".warc.gz", "wacz": ".wacz"}


@dataclass
class Planned:
    path: str
    role: str
    sha256: str | None = None  # vault object to copy (None: ``source`` file or ``data``)
    source: Path | None = None
    data: bytes | None = None
    size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PackageResult:
    path: Path
    sha256: str
    manifest_sha256: str
    files: int
    bytes: int
    destroyed: int
    encrypted: str | None
    event_seq: int

    def as_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}


def _ext(mime: str | None) -> str:
    if not mime:
        return ""
    return EXTENSIONS.get(mime) or mimetypes.guess_extension(mime) or ""


def _plan(
    ws: Workspace, detail: dict[str, Any], hashes_only: bool, report: Path | None
) -> tuple[list[Planned], list[dict[str, Any]], list[dict[str, Any]]]:
    planned: list[Planned] = []
    items_out: list[dict[str, Any]] = []
    destroyed = {i["sha256"] for i in detail["items"] if i["destroyed"]}
    capture_objects: set[str] = set()
    for capture in detail["captures"]:
        capture_objects.update(a["sha256"] for a in capture["artifacts"].values() if a.get("sha256"))
        if capture["manifest_sha256"]:
            capture_objects.add(capture["manifest_sha256"])
    for item in detail["items"]:
        status = "destroyed" if item["sha256"] in destroyed else ("hash_only" if hashes_only else "included")
        if item["sha256"] in capture_objects:
            status = "destroyed" if item["sha256"] in destroyed else "included_as_capture"
        entry = {k: item[k] for k in ("sha256", "md5", "size", "media_type", "mime", "first_seen_at")}
        entry.update(status=status, why=item["why"])
        items_out.append(entry)
        if status == "included":
            planned.append(
                Planned(
                    f"originals/{item['sha256']}{_ext(item['mime'])}",
                    "original",
                    item["sha256"],
                    size=item["size"] or 0,
                    extra={"item": item["sha256"]},
                )
            )
    timestamps: list[dict[str, Any]] = []
    for capture in detail["captures"]:
        folder = f"captures/{capture['id']}"
        for kind, artifact in sorted(capture["artifacts"].items()):
            sha = artifact.get("sha256")
            if not sha or sha in destroyed:
                continue
            planned.append(
                Planned(
                    f"{folder}/{kind}{CAPTURE_EXT.get(kind, '')}",
                    f"capture_{kind}",
                    sha,
                    size=artifact.get("size") or 0,
                    extra={"capture": capture["id"]},
                )
            )
        manifest_sha = capture["manifest_sha256"]
        if manifest_sha and manifest_sha not in destroyed:
            planned.append(
                Planned(f"{folder}/manifest.json", "capture_manifest", manifest_sha, extra={"capture": capture["id"]})
            )
        for index, stamp in enumerate(capture["timestamps"]):
            token = stamp.get("token_sha256")
            if not token or not manifest_sha:
                continue
            name = f"{folder}/timestamp-{index}.tsr"
            planned.append(
                Planned(name, "tsa_token", token, extra={"capture": capture["id"], "tsa_url": stamp.get("tsa_url")})
            )
            timestamps.append(
                {
                    "token": name,
                    "data": f"{folder}/manifest.json",
                    "capture": capture["id"],
                    "tsa_url": stamp.get("tsa_url"),
                    "gen_time": stamp.get("gen_time"),
                }
            )
    if report is not None:
        if not report.is_file():
            raise CaseError(f"report {report} is not a file")
        planned.append(Planned(f"report/{report.name}", "report", source=report, size=report.stat().st_size))
    for entry in planned:
        if entry.sha256 and not entry.size:
            path = ws.vault.path_for(entry.sha256)
            entry.size = path.stat().st_size if path.exists() else 0
        if entry.sha256 and not ws.vault.has(entry.sha256):
            raise CaseError(f"{entry.path}: vault object {entry.sha256[:16]}… is missing (run idolguard verify)")
    return planned, items_out, timestamps


_case_events = case_event_seqs  # the report and older callers use this name


def _readme() -> bytes:
    return resources.files("idolguard.cases.package_files").joinpath("README.md").read_bytes()


def _verifier() -> bytes:
    return resources.files("idolguard.cases.package_files").joinpath("verify_package.py").read_bytes()


def build_package(
    ws: Workspace,
    key: str,
    out: Path,
    *,
    hashes_only: bool = False,
    report: Path | None = None,
    max_bytes: int | None = None,
    encrypt_to: str | None = None,
    passphrase_file: Path | None = None,
) -> PackageResult:
    out = out.expanduser().resolve()
    if out.exists():
        raise CaseError(f"{out} already exists; choose another --out (packages are never overwritten)")
    if not out.parent.is_dir():
        raise CaseError(f"folder {out.parent} does not exist")
    if encrypt_to and passphrase_file:
        raise CaseError("choose --encrypt-to or --passphrase-file, not both")
    encryption = _encryption(encrypt_to, passphrase_file)
    limit = (
        max_bytes
        if max_bytes is not None
        else int(ws.config.section("cases").get("max_package_bytes", DEFAULT_MAX_BYTES))
    )
    with ws.sessions() as session:
        case = get_case(session, key)
        detail = detail_in_session(session, case)
        destroyed_rows = {
            d.sha256: d.decision_seq
            for d in session.execute(select(DestroyedObject).where(DestroyedObject.case_id == case.id)).scalars()
        }
        event_seqs = _case_events(session, detail)
        head = session.execute(
            select(LedgerEntry.seq, LedgerEntry.entry_hash).order_by(LedgerEntry.seq.desc()).limit(1)
        ).first()
    planned, items_out, timestamps = _plan(ws, detail, hashes_only, report)
    for entry in items_out:
        if entry["status"] == "destroyed":
            entry["destroyed_by_decision_seq"] = destroyed_rows.get(entry["sha256"])
    total = sum(p.size for p in planned)
    if total > limit:
        raise CaseError(
            f"the package would hold {total:,} bytes of files, over the limit of {limit:,} "
            "(use --hashes-only, or raise [cases] max_package_bytes / --max-bytes); nothing was written"
        )
    _clean_stale(out.parent)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:
        result = _write(ws, detail, planned, items_out, timestamps, event_seqs, head, tmp, hashes_only, encryption)
        final_tmp = tmp
        if encryption is not None:
            final_tmp = out.parent / f".{out.name}.partial-{os.getpid()}.age"
            _encrypt(tmp, final_tmp, encryption)
            tmp.unlink()
        with open(final_tmp, "rb") as handle:
            os.fsync(handle.fileno())
        digest = _sha256_file(final_tmp)
        os.link(final_tmp, out)  # never replaces an existing file
        final_tmp.unlink()
    except BaseException:
        for leftover in out.parent.glob(f".{out.name}.partial-{os.getpid()}*"):
            leftover.unlink(missing_ok=True)
        raise
    manifest_sha, files, size, seq = result
    with ws.write() as (_session, writer):
        writer.append(
            "case.package_written",
            None,
            {
                "case": detail["number"],
                "manifest_sha256": manifest_sha,
                "package_sha256": digest,
                "file": out.name,
                "bytes": out.stat().st_size,
            },
        )
        # Each original now outside the vault is on its own item's custody record, as `idolguard export` is.
        for entry in items_out:
            if entry["status"] in ("included", "included_as_capture"):
                writer.append(
                    Action.EVIDENCE_EXPORT,
                    entry["sha256"],
                    {
                        "kind": "case_package",
                        "case": detail["number"],
                        "path": str(out),
                        "file": out.name,
                        "package_sha256": digest,
                        "reason": f"evidence package of case {detail['number']}",
                    },
                )
    return PackageResult(
        out,
        digest,
        manifest_sha,
        files,
        size,
        sum(1 for i in items_out if i["status"] == "destroyed"),
        encryption[0] if encryption else None,
        seq,
    )


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _clean_stale(folder: Path) -> None:
    """Remove partial packages left by processes that no longer run."""
    for leftover in folder.glob(".*.partial-*"):
        pid = leftover.name.rsplit("partial-", 1)[1].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(
    ws: Workspace,
    detail: dict[str, Any],
    planned: list[Planned],
    items_out: list[dict[str, Any]],
    timestamps: list[dict[str, Any]],
    event_seqs: list[int],
    head: Any,
    tmp: Path,
    hashes_only: bool,
    encryption: tuple[str, Any] | None,
) -> tuple[str, int, int, int]:
    files: list[dict[str, Any]] = []
    written = 0
    vault = ws.vault
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:

        def add_bytes(path: str, data: bytes, role: str, listed: bool = True, **extra: Any) -> None:
            zf.writestr(_info(path), data)
            if listed:
                files.append(
                    {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "role": role, **extra}
                )

        add_bytes("README.md", _readme(), "readme")
        add_bytes("verify_package.py", _verifier(), "verifier")
        for entry in planned:
            digest = hashlib.sha256()
            size = 0
            with zf.open(_info(entry.path), "w", force_zip64=entry.size > 0x7FFF0000) as member:
                chunks = vault.read_chunks(entry.sha256) if entry.sha256 else _file_chunks(entry.source)  # type: ignore[arg-type]
                for block in chunks:
                    digest.update(block)
                    member.write(block)
                    size += len(block)
            if entry.sha256 and digest.hexdigest() != entry.sha256:
                raise CaseError(
                    f"{entry.path}: vault object does not match its SHA-256 (run idolguard verify); nothing was written"
                )
            files.append(
                {"path": entry.path, "sha256": digest.hexdigest(), "size": size, "role": entry.role, **entry.extra}
            )
            written += size
        public_pem = (ws.config.keys_dir / "instance_ed25519.pub.pem").read_bytes()
        zf.writestr(_info("public_key.pem"), public_pem)
        manifest = {
            "format": FORMAT,
            "case": {
                k: detail[k]
                for k in ("number", "title", "artist", "status", "legal_hold", "opened_at", "closed_at", "destroyed_at")
            },
            "created_at": datetime.now(UTC).isoformat(),
            "created_by": ws.actor,
            "tool": {"name": "IdolGuard", "version": __version__},
            "hashes_only": hashes_only,
            "encrypted": encryption[0] if encryption else None,
            "key_id": ws.signing_key.key_id,
            "ledger_head_before": {"seq": head.seq, "hash": head.entry_hash} if head else None,
            "files": files,
            "items": items_out,
            "timestamps": timestamps,
            "filings": detail["filings"],
        }
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
        with ws.write() as (session, writer):
            entry = writer.append(
                "case.package",
                None,
                {
                    "case": detail["number"],
                    "manifest_sha256": manifest_sha,
                    "files": len(files),
                    "bytes": written,
                    "hashes_only": hashes_only,
                    "encrypted": encryption[0] if encryption else None,
                    "destroyed_items": sum(1 for i in items_out if i["status"] == "destroyed"),
                },
            )
            session.flush()
            package_seq = entry.seq
        zf.writestr(_info("manifest.json"), manifest_bytes)
        zf.writestr(_info("manifest.sig"), base64.b64encode(ws.signing_key.sign(manifest_bytes)) + b"\n")
        _write_ledger(ws, zf, [*event_seqs, package_seq], package_seq)
    return manifest_sha, len(files), written, package_seq


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _file_chunks(path: Path):  # type: ignore[no-untyped-def]
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            yield block


def _write_ledger(ws: Workspace, zf: zipfile.ZipFile, seqs: list[int], head_seq: int) -> None:
    """The chain links are streamed (they can be many); the case's own events are collected on the way."""
    wanted = set(seqs)
    first = min(wanted)
    events: list[bytes] = []
    with ws.sessions() as session, zf.open(_info("ledger/chain.jsonl"), "w", force_zip64=True) as chain:
        rows = session.execute(
            select(LedgerEntry.seq, LedgerEntry.prev_hash, LedgerEntry.entry_hash, LedgerEntry.line)
            .where(LedgerEntry.seq >= first, LedgerEntry.seq <= head_seq)
            .order_by(LedgerEntry.seq)
            .execution_options(yield_per=5000)
        )
        buffer: list[bytes] = []
        for seq, prev, digest, line in rows.tuples():
            buffer.append(canonical_bytes({"seq": seq, "prev": prev, "hash": digest}) + b"\n")
            if seq in wanted:
                events.append(line.encode("utf-8") + b"\n")
            if len(buffer) >= 5000:
                chain.write(b"".join(buffer))
                buffer.clear()
        chain.write(b"".join(buffer))
    zf.writestr(_info("ledger/events.jsonl"), b"".join(events))


def _encryption(encrypt_to: str | None, passphrase_file: Path | None) -> tuple[str, Any] | None:
    if not encrypt_to and not passphrase_file:
        return None
    try:
        import pyrage
    except ImportError as exc:  # pragma: no cover - pyrage is a declared dependency
        raise CaseError("encryption needs the pyrage package") from exc
    if encrypt_to:
        text = encrypt_to
        candidate = Path(encrypt_to).expanduser()
        if candidate.is_file():
            lines = [ln.strip() for ln in candidate.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
            text = lines[0] if lines else ""
        try:
            recipient = pyrage.x25519.Recipient.from_str(text.strip())
        except Exception as exc:  # noqa: BLE001 - pyrage raises its own error types
            try:
                recipient = pyrage.ssh.Recipient.from_str(text.strip())
            except Exception:  # noqa: BLE001
                raise CaseError(f"--encrypt-to needs an age recipient (age1…) or SSH public key: {exc}") from exc
        return ("age-recipient", recipient)
    assert passphrase_file is not None
    try:
        secret = passphrase_file.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise CaseError(f"cannot read --passphrase-file: {exc}") from exc
    if len(secret) < 12:
        raise CaseError("the passphrase in --passphrase-file is shorter than 12 characters")
    return ("age-passphrase", secret)


def _encrypt(source: Path, dest: Path, encryption: tuple[str, Any]) -> None:
    import pyrage

    kind, value = encryption
    data = source.read_bytes()
    blob = pyrage.encrypt(data, [value]) if kind == "age-recipient" else pyrage.passphrase.encrypt(data, value)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(blob)
