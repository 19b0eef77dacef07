"""Import every model module so the shared metadata is complete (Alembic env, create_all, tests).

Each area adds one import line here when it adds tables.
"""

from idolguard.capture import models as capture_models  # noqa: F401
from idolguard.cases import models as cases_models  # noqa: F401
from idolguard.db import models  # noqa: F401
from idolguard.gallery import models as gallery_models  # noqa: F401
from idolguard.incidents import models as incidents_models  # noqa: F401
from idolguard.signals import models as signals_models  # noqa: F401
