"""Where moodtune keeps its files, and its documented limits.

``MOODTUNE_HOME`` moves the data home (catalog database, model caches); it defaults
to the platform's user data directory (``platformdirs.user_data_dir("moodtune")``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import platformdirs

#: Longest text message accepted, in characters (after stripping whitespace).
MAX_TEXT_CHARS = 5000
#: Bounds of a playlist's length.
MIN_TRACKS, MAX_TRACKS = 1, 100
#: Default playlist length.
DEFAULT_TRACKS = 10
#: Highest sample rate of an audio stream that is decoded, in Hz (studio masters go to
#: 384 kHz; a higher rate is refused before decoding, since a tiny file at an absurd rate
#: would decode to gigabytes).
MAX_SAMPLE_RATE = 384_000
#: Most channels of an audio stream that is decoded (third-order ambisonics has 16).
MAX_CHANNELS = 16


def _env_number(name: str, default: float, *, low: float, high: float) -> float:
    """``$name`` as a number in [low, high], or ``default`` when unset; bad values are errors."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (low <= value <= high):  # also False for NaN
        from moodtune.errors import ParameterError

        raise ParameterError(f"{name}={raw!r} must be a number from {low:g} to {high:g}")
    return value


@dataclass(frozen=True)
class Limits:
    """The one set of input limits, shared by the CLI, the HTTP API, the web page and the bot.

    Each can be changed with an environment variable (read once, at first use).

    Attributes
    ----------
    upload_bytes : int
        Largest file received over the network (API upload, bot download), bytes.
        ``MOODTUNE_MAX_UPLOAD_MB`` (default 20 MB, Telegram's own download limit).
    file_bytes : int
        Largest local file read from disk (CLI, scan), bytes. ``MOODTUNE_MAX_FILE_MB``
        (default 2000 MB).
    voice_seconds : float
        Longest voice message, seconds. ``MOODTUNE_MAX_VOICE_SECONDS`` (default 300).
    music_seconds : float
        Longest music file analysed, scanned or mixed, seconds.
        ``MOODTUNE_MAX_MUSIC_SECONDS`` (default 1800).
    mix_seconds : float
        Longest voice track or video to lay music under, seconds.
        ``MOODTUNE_MAX_MIX_SECONDS`` (default 900).
    json_bytes : int
        Largest JSON request body, bytes (64 KB).
    text_chars : int
        Longest typed message, characters (5000).
    """

    upload_bytes: int = 20_000_000
    file_bytes: int = 2000 * 1000 * 1000
    voice_seconds: float = 300.0
    music_seconds: float = 1800.0
    mix_seconds: float = 900.0
    json_bytes: int = 64_000
    text_chars: int = MAX_TEXT_CHARS

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults with the ``MOODTUNE_MAX_*`` overrides applied."""
        d = cls()
        mb = 1000 * 1000
        return cls(
            upload_bytes=round(
                _env_number("MOODTUNE_MAX_UPLOAD_MB", d.upload_bytes / mb, low=0.01, high=2000) * mb
            ),
            file_bytes=round(
                _env_number("MOODTUNE_MAX_FILE_MB", d.file_bytes / mb, low=0.01, high=100_000) * mb
            ),
            voice_seconds=_env_number(
                "MOODTUNE_MAX_VOICE_SECONDS", d.voice_seconds, low=1, high=7200
            ),
            music_seconds=_env_number(
                "MOODTUNE_MAX_MUSIC_SECONDS", d.music_seconds, low=1, high=36_000
            ),
            mix_seconds=_env_number("MOODTUNE_MAX_MIX_SECONDS", d.mix_seconds, low=1, high=36_000),
        )


_LIMITS: Limits | None = None


def limits() -> Limits:
    """The limits in force (environment read once per process; see :class:`Limits`)."""
    global _LIMITS
    if _LIMITS is None:
        _LIMITS = Limits.from_env()
    return _LIMITS


def describe_bytes(n: int) -> str:
    """``20_000_000`` -> ``"20 MB"``, ``64_000`` -> ``"64 KB"`` (decimal units)."""
    if n < 1_000_000:
        return f"{n / 1e3:.0f} KB"
    mb = n / 1e6
    return f"{mb:.0f} MB" if abs(mb - round(mb)) < 0.05 or mb >= 100 else f"{mb:.1f} MB"


def home_dir() -> Path:
    """Return the data home, creating it if needed (``$MOODTUNE_HOME`` or the user data dir)."""
    env = os.environ.get("MOODTUNE_HOME")
    path = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("moodtune"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Return the model/embedding cache directory inside the data home."""
    path = home_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_catalog_path() -> Path:
    """Return the default catalog database path (``$MOODTUNE_CATALOG`` overrides it)."""
    env = os.environ.get("MOODTUNE_CATALOG")
    if env:
        return Path(env).expanduser()
    return home_dir() / "catalog.sqlite"


def library_roots() -> list[Path]:
    """Extra music folders whose scanned files may be served (``$MOODTUNE_LIBRARY``).

    Folders a ``moodtune scan`` ran on are recorded in the catalog and count already;
    this adds folders (``os.pathsep``-separated) for catalogs scanned before that.
    """
    env = os.environ.get("MOODTUNE_LIBRARY", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p.strip()]


def secret_key() -> bytes:
    """The server's signing secret (session tokens, audio URLs).

    ``$MOODTUNE_SECRET`` when set; otherwise 32 random bytes kept in ``secret.key`` in
    the data home (created on first use, readable by its owner only), so tokens survive
    restarts. Deleting the file signs everyone out.
    """
    env = os.environ.get("MOODTUNE_SECRET", "")
    if env:
        return env.encode()
    path = home_dir() / "secret.key"
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    data = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return data


def user_keys() -> dict[str, str]:
    """Per-user API keys from ``$MOODTUNE_USER_KEYS`` (``alice:KEY1,bob:KEY2``): key -> user."""
    out: dict[str, str] = {}
    for item in os.environ.get("MOODTUNE_USER_KEYS", "").split(","):
        user, sep, key = item.strip().partition(":")
        if sep and user.strip() and key.strip():
            out[key.strip()] = user.strip()
    return out
