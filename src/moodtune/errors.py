"""One exception family for moodtune.

Every error moodtune raises on purpose is a :class:`MoodtuneError`. Interfaces turn
them into their own language in one place: an exit code in the CLI, an HTTP status in
the API, a polite reply in the bot. Messages repeat the bad value and say what to do.
"""

from __future__ import annotations


class MoodtuneError(Exception):
    """Base class of every error moodtune raises on purpose.

    Attributes
    ----------
    exit_code : int
        Exit status the CLI uses: 2 for usage errors, 1 for runtime errors.
    http_status : int
        HTTP status the API uses.
    """

    exit_code: int = 1
    http_status: int = 500


class ParameterError(MoodtuneError):
    """A parameter or input value is invalid (bad usage): fix the call and retry."""

    exit_code = 2
    http_status = 422


class InputTooLargeError(ParameterError):
    """An input is over a documented size or duration limit."""

    http_status = 413


class UnsupportedMediaError(ParameterError):
    """A file is not in a format moodtune can read."""

    http_status = 415


class CorruptMediaError(ParameterError):
    """A media file is truncated or damaged: its audio cannot be decoded in full."""


class NoSpeechError(ParameterError):
    """Audio was decoded but holds no speech (silence, noise or music only)."""


class CatalogError(MoodtuneError):
    """The catalog is missing, empty, corrupt or could not be written."""

    exit_code = 1
    http_status = 500


class ImportFileError(CatalogError):
    """A file given to a catalog importer cannot be imported at all (nothing was changed)."""

    exit_code = 2
    http_status = 422


class ModelError(MoodtuneError):
    """A model file is missing, corrupt or does not match its expected hash."""


class MissingDependencyError(MoodtuneError):
    """An optional extra is needed for this feature: the message names the pip command."""


class AuthError(MoodtuneError):
    """A request names a user without a credential that proves it (or the credential is bad)."""

    exit_code = 2
    http_status = 401


class ForbiddenError(MoodtuneError):
    """The credential is valid but belongs to someone else than the user named."""

    exit_code = 2
    http_status = 403


class BusyError(MoodtuneError):
    """The inference pool is full: retry later."""

    http_status = 503


def missing_extra(package: str, extra: str) -> MissingDependencyError:
    """Build the error for a missing optional dependency.

    Parameters
    ----------
    package : str
        The import name that failed.
    extra : str
        The moodtune extra that provides it.
    """
    return MissingDependencyError(
        f"{package} is not installed; this feature needs it: pip install 'moodtune[{extra}]'"
    )
