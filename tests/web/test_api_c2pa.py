"""The API's item detail gives the C2PA key fields the item page shows, typed and documented in the OpenAPI
schema; the raw stored summary only to admins."""

from __future__ import annotations

from sqlalchemy import select

from idolguard.db.models import StageResult

from .test_api import bearer, seeded, token_for  # noqa: F401 (fixture)

SUMMARY = {
    "present": True,
    "validation_state": "Trusted",
    "signature_valid": True,
    "trusted_signer": True,
    "validation_codes": ["claimSignature.validated"],
    "signer": "Example Camera CA",
    "signed_at": "2026-03-01T09:30:00+00:00",
    "claim_generator": "ImageMaker/2.1",
    "title": "private-title.jpg",
    "manifests": 2,
    "ai_generated": True,
    "ai_assertions": [
        {
            "label": "c2pa.actions",
            "action": "c2pa.created",
            "digital_source_type": "trainedAlgorithmicMedia",
            "software_agent": "GenTool 1.0",
            "manifest": "urn:uuid:1",
            "active": True,
        }
    ],
}


def store_summary(ws, sha: str) -> None:  # type: ignore[no-untyped-def]
    with ws.sessions() as session, session.begin():
        row = session.scalars(
            select(StageResult).where(StageResult.item_sha256 == sha, StageResult.stage == "manipulation")
        ).one()
        row.output = {**row.output, "content_credentials": SUMMARY}


def test_item_detail_has_typed_c2pa_key_fields_and_raw_only_for_admins(client, app_ws, seeded):  # noqa: F811
    store_summary(app_ws, seeded.suspect)
    analyst = token_for(app_ws, "ana", "analyst")
    detail = client.get(f"/api/v1/items/{seeded.suspect}", headers=bearer(analyst)).json()
    c2pa = detail["content_credentials"]
    assert c2pa["present"] is True and c2pa["signature_valid"] is True and c2pa["trusted_signer"] is True
    assert c2pa["signer"] == "Example Camera CA" and c2pa["claim_generator"] == "ImageMaker/2.1"
    assert c2pa["signed_at"].startswith("2026-03-01T09:30:00") and c2pa["ai_generated"] is True
    assert c2pa["ai_assertions"] == [
        {
            "action": "c2pa.created",
            "digital_source_type": "trainedAlgorithmicMedia",
            "software_agent": "GenTool 1.0",
            "active": True,
        }
    ]
    assert c2pa["raw"] is None and c2pa["problem"] is None
    assert "content_credentials" not in detail["analysis"]  # no raw blob in the analysis either
    assert "validation_codes" not in str(detail) and "private-title" not in str(detail)
    admin = token_for(app_ws, "root", "admin")
    raw = client.get(f"/api/v1/items/{seeded.suspect}", headers=bearer(admin)).json()["content_credentials"]["raw"]
    assert raw["validation_codes"] == ["claimSignature.validated"] and raw["manifests"] == 2


def test_odd_or_broken_summaries_are_typed_not_passed_through(client, app_ws, seeded):  # noqa: F811
    store = {"present": True, "signature_valid": False, "ai_generated": False, "error": "manifest hash mismatch"}
    with app_ws.sessions() as session, session.begin():
        row = session.scalars(
            select(StageResult).where(StageResult.item_sha256 == seeded.suspect, StageResult.stage == "manipulation")
        ).one()
        row.output = {**row.output, "content_credentials": {**store, "signed_at": "not a time", "ai_assertions": [1]}}
    token = token_for(app_ws, "ana", "analyst")
    c2pa = client.get(f"/api/v1/items/{seeded.suspect}", headers=bearer(token)).json()["content_credentials"]
    assert c2pa["signature_valid"] is False and c2pa["problem"] == "manifest hash mismatch"
    assert c2pa["signed_at"] is None and c2pa["ai_assertions"] == [] and c2pa["trusted_signer"] is None


def test_openapi_documents_the_c2pa_fields(client):  # type: ignore[no-untyped-def]
    spec = client.get("/api/v1/openapi.json").json()
    schemas = spec["components"]["schemas"]
    fields = schemas["ContentCredentialsOut"]["properties"]
    assert {"present", "signature_valid", "trusted_signer", "signer", "signed_at", "claim_generator"} <= set(fields)
    assert {"ai_generated", "ai_assertions", "problem", "raw"} <= set(fields)
    assert "admins only" in fields["raw"]["description"]
    detail = spec["paths"]["/items/{sha256}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert detail["$ref"].endswith("/ItemDetailOut")
    assert "content_credentials" in schemas["ItemDetailOut"]["properties"]
