"""Exceptions that carry a message meant for the user, so the CLI can print them without a traceback."""


class IdolGuardError(Exception):
    """Base class: the message is shown to the user as-is."""


class WorkspaceError(IdolGuardError):
    """The workspace is missing, unreadable or inconsistent."""


class RejectedInput(IdolGuardError):
    """A file or archive was refused before anything was stored (empty, too large, unsafe, changing)."""


class MediaError(IdolGuardError):
    """Media could not be decoded or breaks a safety limit; the original stays preserved."""


class IntegrityError(IdolGuardError):
    """Stored evidence does not match what was recorded."""


class StorageFull(IdolGuardError):
    """The disk (or quota) holding the workspace is full: the run stops; what was committed stays valid."""
