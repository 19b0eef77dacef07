"""Test stages that count their runs in a file, to prove that stored outputs are reused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from idolguard.area import Area, ResourceProvider
from idolguard.pipeline.stage import Stage, StageContext


def _bump(name: str) -> None:
    with open(Path(os.environ["IDOLGUARD_TEST_COUNTER"]), "a") as handle:
        handle.write(name + "\n")


class CountingStage(Stage):
    name = "counting"
    version = os.environ.get("IDOLGUARD_TEST_COUNTING_VERSION", "1")
    needs = ("probe",)
    produces = ("pixel_count",)
    media_types: ClassVar[frozenset[str]] = frozenset({"image"})

    def run(self, ctx: StageContext) -> dict[str, Any]:
        _bump(self.name)
        thumb = b"derived-" + ctx.sha256.encode()
        return {
            "pixel_count": ctx.inputs["probe"]["width"] * ctx.inputs["probe"]["height"],
            "thumb": ctx.add_derived(thumb, "thumbnail", "application/octet-stream"),
        }


class DependentStage(Stage):
    name = "dependent"
    version = "1"
    needs = ("counting",)
    produces = ("doubled", "home_seen")
    media_types: ClassVar[frozenset[str]] = frozenset({"image"})
    uses = ("counting_home",)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        _bump(self.name)
        home = ctx.resources.need("counting_home", self.name)
        return {"doubled": ctx.inputs["counting"]["pixel_count"] * 2, "home_seen": home, "pid": os.getpid()}


def load_home(ws: Any) -> str:
    """A resource: the runner loads it from the workspace in the parent and hands it to every worker."""
    return str(ws.home)


class BrokenStage(Stage):
    name = "broken"
    version = "1"
    produces = ("never",)
    media_types: ClassVar[frozenset[str]] = frozenset({"image"})

    def run(self, ctx: StageContext) -> dict[str, Any]:
        _bump(self.name)
        raise RuntimeError("boom")


AREA = Area(
    name="counting",
    description="test stages",
    stages=(CountingStage, DependentStage, BrokenStage),
    resources=(ResourceProvider("counting_home", load_home),),
)
