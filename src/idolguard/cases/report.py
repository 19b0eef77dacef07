"""``cases report``: the court-ready case report in Korean, English or both, as HTML or PDF.

Sections (docs/ARCHITECTURE.md "Cases"): summary; parties; evidence table; hash-identity statement;
identity analysis; manipulation analysis; provenance leads and origin candidates; spread and impact with
charts; custody-log excerpt with the ledger head and a fresh verification; methodology and glossary.
Every text is in the translation catalogs (``locales/``). Media appear only as heavily blurred greyscale
previews made here from the originals (never the originals themselves). The PDF is rendered by WeasyPrint
with the Noto CJK fonts (``scripts/system-deps.sh``). The written file's SHA-256 is a ``case.report``
custody event.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select

from idolguard import __version__
from idolguard.cases import impact
from idolguard.cases.i18n import Translator, catalog
from idolguard.cases.provenance import file_name_leads
from idolguard.cases.service import CaseError, get_case
from idolguard.cases.views import detail_in_session
from idolguard.db.models import LedgerEntry, Sighting, StageResult
from idolguard.db.session import in_chunks
from idolguard.workspace import Workspace

FORMATS = ("html", "pdf")
CUSTODY_ROWS = 40
PREVIEW_PX = 140


def _latest_results(session: Any, shas: list[str], stages: tuple[str, ...]) -> dict[tuple[str, str], dict[str, Any]]:
    """(item, stage) -> the newest ``ok`` output and its version."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for chunk in in_chunks(shas):
        rows = session.execute(
            select(StageResult.item_sha256, StageResult.stage, StageResult.version, StageResult.output)
            .where(StageResult.item_sha256.in_(chunk), StageResult.stage.in_(stages), StageResult.status == "ok")
            .order_by(StageResult.created_at, StageResult.id)
        ).tuples()
        for sha, stage, version, output in rows:
            out[(sha, stage)] = {"version": version, **(output or {})}
    return out


def blurred_preview(ws: Workspace, sha: str) -> str | None:
    """A data URI of a small, heavily blurred greyscale JPEG of an image item (None if not decodable)."""
    from PIL import Image, ImageFilter

    try:
        with ws.vault.materialize(sha) as path, Image.open(path) as img:
            img.draft("L", (PREVIEW_PX * 2, PREVIEW_PX * 2))
            img = img.convert("L")
            img.thumbnail((24, 24))  # throw the detail away first: nothing recognisable survives
            small = img.resize(
                (PREVIEW_PX, max(1, PREVIEW_PX * img.height // max(1, img.width))), Image.Resampling.BILINEAR
            )
            small = small.filter(ImageFilter.GaussianBlur(6))
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=60)
    except Exception:  # noqa: BLE001 - a preview is optional; the evidence table still lists the item
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _model_card() -> dict[str, Any]:
    try:
        from idolguard.detect.detector import card_path, default_model_path, load_card

        model = default_model_path()
        card = load_card(model)
    except Exception:  # noqa: BLE001 - no detector installed: the section says so
        return {"name": None, "version": None, "metrics": ""}
    metrics = ""
    markdown = card_path(model).with_name("MODEL_CARD.md")
    if markdown.exists():
        text = markdown.read_text(encoding="utf-8")
        section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0] if "## Metrics" in text else ""
        rows = [
            re.sub(r"\*\*|`", "", line).strip("| ").replace(" | ", ": ")
            for line in section.splitlines()
            if line.startswith("|") and "---" not in line and "ROC AUC" not in line
        ]
        metrics = "; ".join(rows)
    return {"name": card.get("name"), "version": card.get("version"), "metrics": metrics or "see the model card"}


def _preview_limit(ws: Workspace) -> int:
    from idolguard.cases.settings import CasesSettings
    from idolguard.settings import load

    return max(0, load(CasesSettings, ws.config.raw).report_previews)


def _evidence_rows(
    ws: Workspace, detail: dict[str, Any], sightings_by_item: dict[str, list[Sighting]]
) -> list[dict[str, Any]]:
    capture_of: dict[str, dict[str, Any]] = {}
    for capture in detail["captures"]:
        for sha in [capture["manifest_sha256"], *(a.get("sha256") for a in capture["artifacts"].values())]:
            if sha:
                capture_of.setdefault(sha, capture)
    media_capture: dict[str, dict[str, Any]] = {}
    for s in detail["sightings"]:
        for capture in detail["captures"]:
            if s["url"] and s["url"] in (capture["url"], capture["final_url"]):
                media_capture.setdefault(s["item"], capture)
    rows = []
    previews, limit = 0, _preview_limit(ws)
    for number, item in enumerate(detail["items"], start=1):
        sha = item["sha256"]
        sightings = sightings_by_item.get(sha, [])
        first = sightings[0] if sightings else None
        url = next((s.source_url for s in sightings if s.source_url), None)
        capture = capture_of.get(sha) or media_capture.get(sha)
        check = "destroyed" if item["destroyed"] else ("match" if ws.vault.check(sha) is None else "mismatch")
        preview = None
        if not item["destroyed"] and item["media_type"] == "image" and previews < limit:
            preview = blurred_preview(ws, sha)
            previews += preview is not None
        rows.append(
            {
                "no": number,
                "sha256": sha,
                "md5": item["md5"],
                "size": item["size"],
                "acquired": (item["first_seen_at"] or "")[:19].replace("T", " "),
                "capture": capture,
                "actor": first.actor if first else "-",
                "url": url or (capture["url"] if capture else None),
                "tsa": [t.get("gen_time") for t in (capture["timestamps"] if capture else []) if t.get("ok")],
                "check": check,
                "destroyed": item["destroyed"],
                "preview": preview,
                "media_type": item["media_type"],
            }
        )
    return rows


# The value of a generator lead whose settings are left out (a prompt can describe the abuse itself): said in
# the report's language (``prov.parameters``) and on the web case page.
PARAMETERS_PRESENT = "(parameters present; full text in the evidence package)"


def _item_leads(number: int, prov: dict[str, Any] | None, sightings: list[Sighting]) -> list[dict[str, Any]]:
    """Provenance leads of one item (stage output plus file-name patterns), prompts reduced to tool and
    settings: a prompt can describe the abuse itself."""
    out = []
    item_leads = list((prov or {}).get("provenance", {}).get("leads", []))
    item_leads.extend(file_name_leads([s.source_path for s in sightings if s.source_path]))
    for entry in item_leads:
        value = entry.get("value")
        if entry["kind"] in ("generator_parameters", "generator_workflow"):
            bits = [
                f"{k}: {entry[k]}" for k in ("tool", "model", "model_hash", "seed", "sampler", "steps") if entry.get(k)
            ]
            if entry.get("nodes"):
                bits.append("nodes: " + ", ".join(entry["nodes"][:8]))
            value = "; ".join(bits) or PARAMETERS_PRESENT
        out.append({"no": number, **entry, "value": str(value)[:300]})
    return out


def _said_leads(leads: list[dict[str, Any]], langs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Leads with where they were found and what they mean in the report's language(s) (``ko / en`` for a
    bilingual report), said from their codes; leads stored before the codes keep their English."""
    from idolguard.cases.provenance import MANIFEST_PRESENT, recoded
    from idolguard.report.i18n import said

    def both(lead: dict[str, Any], field: str) -> str:
        return " / ".join(dict.fromkeys(said(lead, field, lang) for lang in langs))

    def value(lead: dict[str, Any]) -> Any:
        if lead.get("kind") == "c2pa" and lead.get("value") == MANIFEST_PRESENT:
            return " / ".join(catalog(lang)["prov.manifest_present"] for lang in langs)
        if lead.get("value") != PARAMETERS_PRESENT:
            return lead.get("value")
        return " / ".join(catalog(lang)["prov.parameters"] for lang in langs)

    said_leads = [recoded(lead) for lead in leads]  # stored before their place had a code: said from the text
    return [
        {**lead, "source": both(lead, "source"), "meaning": both(lead, "meaning"), "value": value(lead)}
        for lead in said_leads
    ]


def provenance_leads(session: Any, detail: dict[str, Any]) -> list[dict[str, Any]]:
    """Every provenance lead of a case's items (``no`` = the item's number in the case, 1-based)."""
    shas = [i["sha256"] for i in detail["items"]]
    results = _latest_results(session, shas, ("provenance",))
    by_item: dict[str, list[Sighting]] = {}
    for chunk in in_chunks(shas):
        for s in session.execute(
            select(Sighting).where(Sighting.item_sha256.in_(chunk)).order_by(Sighting.id)
        ).scalars():
            by_item.setdefault(s.item_sha256, []).append(s)
    out = []
    for number, sha in enumerate(shas, start=1):
        for lead in _item_leads(number, results.get((sha, "provenance")), by_item.get(sha, [])):
            out.append({**lead, "sha256": sha})
    return out


def build_context(ws: Workspace, key: str, lang: str) -> dict[str, Any]:
    from idolguard.cases.package import _case_events
    from idolguard.evidence.verify import verify_workspace

    t = Translator(lang)
    with ws.sessions() as session:
        case = get_case(session, key)
        detail = detail_in_session(session, case)
        shas = [i["sha256"] for i in detail["items"]]
        results = _latest_results(session, shas, ("faces", "manipulation", "provenance"))
        sightings_by_item: dict[str, list[Sighting]] = {}
        for chunk in in_chunks(shas):
            for s in session.execute(
                select(Sighting).where(Sighting.item_sha256.in_(chunk)).order_by(Sighting.id)
            ).scalars():
                sightings_by_item.setdefault(s.item_sha256, []).append(s)
        seqs = _case_events(session, detail)
        custody = list(
            session.execute(
                select(LedgerEntry.seq, LedgerEntry.ts, LedgerEntry.actor, LedgerEntry.action, LedgerEntry.item_sha256)
                .where(LedgerEntry.seq.in_(seqs[-CUSTODY_ROWS:]))
                .order_by(LedgerEntry.seq)
            ).tuples()
        )
    short = {i["sha256"]: n for n, i in enumerate(detail["items"], start=1)}
    identity, manipulation, leads = [], [], []
    stage_versions: dict[str, set[str]] = {}
    outdated = _outdated(shas, results, short, t)
    for sha in shas:
        faces = results.get((sha, "faces"))
        if faces:
            stage_versions.setdefault("faces", set()).add(faces["version"])
            for face in faces.get("faces") or []:
                identity.append(
                    {
                        "no": short[sha],
                        "artist": face.get("artist") or "-",
                        "similarity": face.get("similarity"),
                        "decision": face.get("decision") or "no_match",
                        # why it was capped at ``possible``: said from the catalog (``review.<code>``)
                        "review_reason": face.get("review_reason"),
                    }
                )
        manip = results.get((sha, "manipulation"))
        if manip:
            stage_versions.setdefault("manipulation", set()).add(manip["version"])
            credentials = manip.get("content_credentials") or {}
            manipulation.append(
                {
                    "no": short[sha],
                    "score": manip.get("manipulation_score"),
                    "verdict": manip.get("verdict"),
                    "c2pa": "AI"
                    if credentials.get("ai_generated")
                    else ("C2PA" if credentials.get("present") else "-"),
                }
            )
        prov = results.get((sha, "provenance"))
        if prov:
            stage_versions.setdefault("provenance", set()).add(prov["version"])
        leads.extend(_said_leads(_item_leads(short[sha], prov, sightings_by_item.get(sha, [])), t.langs))
    record = impact.impact_record(detail)
    # One chart per language: a "both" report's English reader reads its own axis labels and legend.
    charts = {
        "sightings": [impact.sightings_chart_png(detail, chart_lang) for chart_lang in t.langs],
        "platforms": [impact.platforms_chart_png(record, chart_lang) for chart_lang in t.langs],
    }
    report = verify_workspace(ws, objects=False)
    evidence = _evidence_rows(ws, detail, sightings_by_item)
    return {
        "t": t,
        "lang": lang,
        "html_lang": "ko" if lang in ("ko", "both") else "en",
        "d": detail,
        "evidence": evidence,
        "hash_counts": {
            "total": len(evidence),
            "match": sum(1 for r in evidence if r["check"] == "match"),
            "mismatch": sum(1 for r in evidence if r["check"] == "mismatch"),
            "destroyed": sum(1 for r in evidence if r["check"] == "destroyed"),
        },
        "max_previews": _preview_limit(ws),
        "identity": identity,
        "manipulation": manipulation,
        "outdated": outdated,
        "leads": leads,
        "impact": record,
        "charts": {
            k: ["data:image/png;base64," + base64.b64encode(png).decode("ascii") for png in pngs if png]
            for k, pngs in charts.items()
        },
        "custody": [
            {
                "seq": seq,
                "ts": ts[:19].replace("T", " "),
                "actor": actor,
                "action": action,
                "label": t.inline(f"action.{action}") if f"action.{action}" in catalog("en") else None,
                "item": short.get(item or "", ""),
            }
            for seq, ts, actor, action, item in custody
        ],
        "custody_total": len(seqs),
        "verify": report,
        "key_id": ws.signing_key.key_id,
        "card": _model_card(),
        "tools": {
            "IdolGuard": __version__,
            "Python": platform.python_version(),
            **{_stage_label(t, k): ", ".join(sorted(v)) for k, v in sorted(stage_versions.items())},
        },
        "operator": ws.actor,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "version": __version__,
    }


def _outdated(
    shas: list[str], results: dict[tuple[str, str], dict[str, Any]], short: dict[str, int], t: Translator
) -> list[Markup]:
    """ "Item N: step, step" for each item whose face or manipulation result shown here was made by an older
    version of the step than the one installed now: the report says so, so it is not read as current (the
    methodology lists the versions; ``idolguard analyze --stale`` brings them up to date)."""
    from idolguard.pipeline.runner import select_stages

    current = {s.name: s.version for s in select_stages(None)}
    lines = []
    for sha in shas:
        old = [
            stage
            for stage in ("faces", "manipulation")
            if (sha, stage) in results and stage in current and results[(sha, stage)]["version"] != current[stage]
        ]
        if old:
            lines.append(Markup("{}: {}").format(short[sha], Markup(", ").join(_stage_label(t, s) for s in old)))
    return lines


def _stage_label(t: Translator, stage: str) -> Markup:
    """An analysis stage by what it does, in the report's language(s) (its code only for an unknown stage)."""
    key = f"tools.stage.{stage}"
    return t.inline(key) if key in catalog("en") else t.inline("tools.stage", name=stage)


def render_html(context: dict[str, Any]) -> str:
    from idolguard.display import jinja_visible

    env = Environment(
        loader=PackageLoader("idolguard.cases"), autoescape=select_autoescape(["html", "j2"]), finalize=jinja_visible
    )
    return env.get_template("case_report.html.j2").render(**context)


def write_report(ws: Workspace, key: str, dest: Path, *, lang: str = "both", fmt: str = "pdf") -> dict[str, Any]:
    if fmt not in FORMATS:
        raise CaseError(f"--format must be html or pdf, got {fmt!r}")
    try:
        Translator(lang)
    except ValueError as exc:
        raise CaseError(str(exc)) from exc
    dest = dest.expanduser().resolve()
    if not dest.parent.is_dir():
        raise CaseError(f"folder {dest.parent} does not exist")
    context = build_context(ws, key, lang)
    html = render_html(context)
    if fmt == "pdf":
        try:
            from weasyprint import HTML
        except (ImportError, OSError) as exc:
            raise CaseError(f"PDF needs WeasyPrint and its system libraries (scripts/system-deps.sh): {exc}") from exc
        data = HTML(string=html).write_pdf()
    else:
        data = html.encode("utf-8")
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    digest = hashlib.sha256(data).hexdigest()
    with ws.write() as (session, writer):
        case = get_case(session, key)
        writer.append(
            "case.report",
            None,
            {
                "case": case.number,
                "sha256": digest,
                "bytes": len(data),
                "format": fmt,
                "lang": lang,
                "file": dest.name,
                "items": len(context["d"]["items"]),
                "ledger_head": f"{context['verify'].head_seq}:{context['verify'].head_hash}",
            },
        )
    return {
        "case": context["d"]["number"],
        "path": str(dest),
        "sha256": digest,
        "bytes": len(data),
        "format": fmt,
        "lang": lang,
        # items shown with a face or manipulation result older than the installed step (the report says so)
        "outdated_items": len(context["outdated"]),
    }
