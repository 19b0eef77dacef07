"""Drafting notices from a case and syncing notice status from recheck results.

    python bench/takedowns.py [--notices 1000] [--sync 10000] [--repeats 3]

Fresh SQLite workspace. (1) A case with N sightings on N distinct URLs (N benign files ingested one by one, not
timed); ``takedowns draft --each`` drafts one notice per URL in one transaction (case resolution, legal-basis
checks, text rendering, N custody events). Baseline in the same run: inserting the same N notice rows through
a plain session (no case resolution, rendering or ledger). (2) M sent notices and a removed/live recheck for
each URL, inserted directly (setup); ``takedowns sync`` classifies all of them and records the changes.
Baseline: one SELECT of the same notices and checks. Prints medians. Targets (issue #14): 1,000 notices
<= 30 s, sync of 10,000 <= 10 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, select  # noqa: E402

from idolguard.capture.models import Capture, CaptureCheck  # noqa: E402
from idolguard.cases.models import Case  # noqa: E402
from idolguard.cases.service import add_to_case, open_case  # noqa: E402
from idolguard.intake.ingest import Ingestor, SightingInfo  # noqa: E402
from idolguard.takedowns.models import Notice  # noqa: E402
from idolguard.takedowns.notices import DraftOptions, draft, sync_from_rechecks  # noqa: E402
from idolguard.workspace import Workspace, init_workspace  # noqa: E402


def median_of(fn, repeats: int, reset=None) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        if reset:
            reset()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--sync", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-takedowns-"))
    try:
        home = root / "ws"
        os.environ["IDOLGUARD_HOME"] = str(home)
        os.environ.setdefault("IDOLGUARD_ACTOR", "bench")
        init_workspace(home)
        ws = Workspace.open(home)
        files = root / "files"
        files.mkdir()
        shas = []
        for i in range(args.notices):
            path = files / f"f{i}.bin"
            path.write_bytes(os.urandom(256))
            info = SightingInfo(source_url=f"https://host.example/post/{i}", platform="web", account=f"@a{i % 50}")
            shas.extend(r.sha256 for r in Ingestor(ws, info).ingest([path]) if r.sha256)
        number = open_case(ws, "bench", "Artist")
        add_to_case(ws, number, shas)
        options = DraftOptions(
            case=number,
            recipient="web_host",
            basis="plain_letter",
            to="abuse@host.test",
            reporter_name="Agency",
            reporter_email="legal@agency.test",
            each=True,
            again=True,
        )

        def clear() -> None:
            with ws.sessions() as session:
                session.execute(delete(Notice))
                session.commit()

        t_draft = median_of(lambda: draft(ws, options), args.repeats, clear)
        with ws.sessions() as session:
            rows = [(n.subject, n.body, n.urls) for n in session.execute(select(Notice)).scalars()]
            case_id = session.execute(select(Case.id)).scalar_one()

        def plain_insert() -> None:
            with ws.sessions() as session:
                for subject, body, urls in rows:
                    session.add(
                        Notice(
                            case_id=case_id,
                            recipient="web_host",
                            basis="plain_letter",
                            lang="en",
                            urls=urls,
                            sightings=[],
                            fields={},
                            subject=subject,
                            body=body,
                            created_by="bench",
                            attempt=1,
                        )
                    )
                session.commit()

        t_plain = median_of(plain_insert, args.repeats, clear)
        print(
            f"draft {args.notices} notices: {t_draft:6.2f} s (median of {args.repeats}); plain row inserts "
            f"{t_plain:6.2f} s; target <= 30 s"
        )

        # (2) sync: M sent notices, each URL rechecked (every other one removed).
        clear()
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        with ws.sessions() as session:
            for i in range(args.sync):
                url = f"https://sync.example/{i}"
                session.add(
                    Notice(
                        case_id=case_id,
                        recipient="web_host",
                        basis="plain_letter",
                        lang="en",
                        urls=[url],
                        sightings=[],
                        fields={},
                        subject="s",
                        body="b",
                        created_by="bench",
                        attempt=1,
                        status="sent",
                        sent_at=now,
                    )
                )
                session.add(Capture(id=i + 1, requested_url=url, final_url=url, state="ok", actor="bench"))
                session.add(CaptureCheck(capture_id=i + 1, state="removed" if i % 2 else "live"))
            session.commit()

        def reset_status() -> None:
            with ws.sessions() as session:
                session.execute(Notice.__table__.update().values(status="sent", closed_at=None))
                session.commit()

        t_sync = median_of(lambda: sync_from_rechecks(ws), args.repeats, reset_status)

        def plain_select() -> None:
            with ws.sessions() as session:
                list(session.execute(select(Notice.id, Notice.urls, Notice.status)).tuples())
                list(
                    session.execute(
                        select(Capture.requested_url, CaptureCheck.state).join(
                            CaptureCheck, CaptureCheck.capture_id == Capture.id
                        )
                    ).tuples()
                )

        t_select = median_of(plain_select, args.repeats)
        print(
            f"sync {args.sync} notices: {t_sync:6.2f} s (median of {args.repeats}); plain SELECTs {t_select:6.2f} s; "
            "target <= 10 s"
        )
        ws.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
