"""Import every model module so the shared metadata is complete (Alembic env, create_all, tests).

Each area adds one import line here when it adds tables.
"""

from idolguard.db import models  # noqa: F401
