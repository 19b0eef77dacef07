"""The one exit-code table every ``idolguard`` command follows (documented in README).

Scripts and schedulers branch on these numbers, so a command never invents its own: per-item failures are 1,
usage errors are Click's 2, a failed integrity check is 3 (so ``verify`` in cron can page someone), and a
workspace or configuration problem that stops the command before it starts is 4.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ITEMS_FAILED = 1  # the command ran, but some inputs failed (per-item errors are in the output)
    USAGE = 2  # bad arguments or options (Click's own code)
    INTEGRITY = 3  # verify found tampering, loss or an unverifiable record
    WORKSPACE = 4  # the workspace or configuration could not be opened/used
