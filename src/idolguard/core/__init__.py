"""The core area's declaration (``area.py``): workspace, evidence, intake, media probing and the report.

The code itself lives in ``evidence/``, ``db/``, ``media/``, ``intake/``, ``pipeline/`` and ``report/``; this
package only says what the core contributes, the same way every other area does.
"""
