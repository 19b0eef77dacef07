"""``scan``/``serve --engine``: bad engine options are usage errors (exit 2) before anything is ingested or served."""

from __future__ import annotations

from sqlalchemy import func, select

from idolguard.db.models import Item
from tests.conftest import jpeg_bytes


def test_engine_options_are_checked_before_ingesting(cli, tmp_path, workspace):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(1, size=(40, 30)))
    for args, message in (
        (["--engine", "spark"], "--engine must be one of local, ray"),
        (["--ray-address", "auto"], "need --engine ray"),
        (["--ray-vault", "send"], "need --engine ray"),
        (["--engine", "ray", "--ray-vault", "nfs"], "--ray-vault must be one of auto, shared, send"),
    ):
        result = cli("scan", tmp_path / "a.jpg", *args, ok=False)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
    with workspace.sessions() as session:
        assert session.execute(select(func.count()).select_from(Item)).scalar() == 0


def test_serve_engine_options_need_the_in_process_worker(cli, workspace):
    """``serve --engine ray`` chooses where the in-process worker analyses; with ``--no-worker`` there is none:
    refused before anything starts (no Ray, no server), and bad values are refused as in ``scan``."""
    for args, message in (
        (["--no-worker", "--engine", "ray"], "drop --no-worker"),
        (["--no-worker", "--ray-address", "auto"], "drop --no-worker"),
        (["--engine", "spark"], "--engine must be one of local, ray"),
        (["--ray-vault", "send"], "need --engine ray"),
    ):
        result = cli("serve", "--port", "1", *args, ok=False)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
