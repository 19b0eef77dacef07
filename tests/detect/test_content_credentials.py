"""C2PA Content Credentials: AI-generation assertions and signature state are reported; absence is harmless."""

from __future__ import annotations

from pathlib import Path

from idolguard.detect.content_credentials import read_content_credentials, summarize_manifest_store

AI_STORE = {
    "active_manifest": "urn:c2pa:2",
    "manifests": {
        "urn:c2pa:1": {"claim_generator": "camera/1.0", "assertions": []},
        "urn:c2pa:2": {
            "claim_generator_info": [{"name": "ImageGen", "version": "3"}],
            "title": "out.png",
            "signature_info": {"issuer": "Example AI Inc.", "time": "2026-01-01T00:00:00Z"},
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
                                "softwareAgent": {"name": "ImageGen 3"},
                            }
                        ]
                    },
                }
            ],
        },
    },
    "validation_state": "Valid",
    "validation_status": [{"code": "signingCredential.untrusted"}],
}


def test_ai_generation_with_valid_signature() -> None:
    summary = summarize_manifest_store(AI_STORE)
    assert summary["present"] and summary["ai_generated"] and summary["signature_valid"]
    assert summary["trusted_signer"] is False
    assert summary["claim_generator"] == "ImageGen" and summary["signer"] == "Example AI Inc."
    hit = summary["ai_assertions"][0]
    assert hit["digital_source_type"] == "trainedAlgorithmicMedia" and hit["software_agent"] == "ImageGen 3"
    assert hit["active"] is True


def test_camera_capture_is_not_ai_and_failures_invalidate() -> None:
    store = {
        "active_manifest": "m",
        "manifests": {
            "m": {
                "assertions": [
                    {
                        "label": "c2pa.actions",
                        "data": {
                            "actions": [
                                {
                                    "action": "c2pa.created",
                                    "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                                }
                            ]
                        },
                    }
                ]
            }
        },
        "validation_status": [{"code": "assertion.dataHash.mismatch"}],
    }
    summary = summarize_manifest_store(store)
    assert summary["ai_generated"] is False
    assert summary["signature_valid"] is False  # a hash mismatch means the file changed after signing


def test_files_without_credentials(tmp_path: Path) -> None:
    from PIL import Image

    plain = tmp_path / "plain.jpg"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(plain)
    assert read_content_credentials(plain) == {"present": False}
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    result = read_content_credentials(junk)  # must not raise
    assert result["present"] in (False, True) and "ai_generated" not in result or result["ai_generated"] is False


def test_signed_ai_image_end_to_end(tmp_path: Path) -> None:
    from .c2pa_signing import write_ai_signed_jpeg

    signed = write_ai_signed_jpeg(tmp_path / "generated.jpg")
    summary = read_content_credentials(signed)
    assert summary["present"] and summary["ai_generated"] and summary["signature_valid"]
    assert summary["claim_generator"] == "test-generator" and summary["trusted_signer"] is False
    # Change pixels after signing: the manifest is still there but no longer matches the content.
    data = bytearray(signed.read_bytes())
    data[-40:-10] = bytes(30)
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))
    after = read_content_credentials(tampered)
    assert after["present"] and after["signature_valid"] is False
