"""Import every area's model modules so the shared metadata is complete (Alembic env, create_all, tests).

Areas declare their model modules in their ``Area`` (``models=``); nothing is listed here.
"""

from idolguard.registry import import_models

MODEL_MODULES = import_models()
