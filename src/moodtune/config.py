"""Settings: every environment variable moodtune reads, its limits, and where its files live.

One typed, frozen :class:`Settings` holds the whole configuration; :func:`settings`
returns it. Nothing else in moodtune reads ``os.environ``: the CLI, the HTTP API, the
web page and the bot all see the same values, limits included. :data:`VARIABLES` lists
every variable with its default and meaning (README's table is checked against it).

Reading
-------
:func:`settings` parses the environment once and caches the result. The cache is keyed
on the values of the variables in :data:`VARIABLES` (a few dictionary look-ups per call),
so a changed variable (``monkeypatch.setenv`` in a test, or a launcher that sets one
before starting a server) is parsed again on the next call; :func:`reload_settings`
forces a fresh parse. Tests that want other settings can also build one with
:meth:`Settings.from_env` from a plain dict.

Values that are wrong where a wrong value must stop the program (limits, thread counts)
raise :class:`~moodtune.errors.ParameterError` naming the variable. The optional
services (LLM, Subsonic, MPD) are checked where they are used, so a bad LLM variable
turns the LLM off with a note instead of stopping everything: their sections keep the
problem in ``error``.

``MOODTUNE_HOME`` moves the data home (catalog database, model caches, secret); it
defaults to the platform's user data directory (``platformdirs.user_data_dir("moodtune")``).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from moodtune.errors import ParameterError

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
#: Default lifetime of a signed audio link, in seconds.
DEFAULT_AUDIO_URL_TTL = 3600
#: Default time budget of one LLM answer, in seconds.
DEFAULT_LLM_TIMEOUT_S = 8.0
#: MPD's own defaults (as its clients read ``MPD_HOST``/``MPD_PORT``).
DEFAULT_MPD_HOST, DEFAULT_MPD_PORT = "localhost", 6600


@dataclass(frozen=True)
class Variable:
    """One environment variable: its name, default and meaning (for docs and checks)."""

    name: str
    default: str
    meaning: str


#: Every environment variable moodtune reads, in README order.
VARIABLES: tuple[Variable, ...] = (
    Variable("MOODTUNE_HOME", "the user data dir", "data home: catalog, caches, secret.key"),
    Variable("MOODTUNE_CATALOG", "`$MOODTUNE_HOME/catalog.sqlite`", "catalog database file"),
    Variable(
        "MOODTUNE_MODEL_DIR",
        "`$MOODTUNE_HOME/cache`",
        "model cache (Whisper base is joined into `whisper-base/` there)",
    ),
    Variable(
        "MOODTUNE_LIBRARY",
        "(none)",
        "extra music folders whose files may be served, `os.pathsep`-separated",
    ),
    Variable(
        "MOODTUNE_CPU_THREADS",
        "CPUs available, at most 8 (Whisper); 1 (USE)",
        "threads of the CPU models",
    ),
    Variable("MOODTUNE_DEBUG", "(off)", "any value: debug logging in the CLI"),
    Variable(
        "MOODTUNE_TEXT_BACKEND",
        "the offline default (`moodtune.text.DEFAULT_BACKEND`)",
        "text emotion backend (registry key)",
    ),
    Variable("MOODTUNE_SPEECH_BACKEND", "`whisper_head`", "speech emotion backend (registry key)"),
    Variable(
        "MOODTUNE_ASR_BACKEND",
        "`faster_whisper`",
        "speech recognition backend (registry key; `transformers_whisper` needs `[hf]`)",
    ),
    Variable("MOODTUNE_MAX_UPLOAD_MB", "20", "largest file received over the network, MB"),
    Variable("MOODTUNE_MAX_FILE_MB", "2000", "largest local file read, MB"),
    Variable("MOODTUNE_MAX_VOICE_SECONDS", "300", "longest voice message, s"),
    Variable("MOODTUNE_MAX_MUSIC_SECONDS", "1800", "longest music file analysed or mixed, s"),
    Variable("MOODTUNE_MAX_MIX_SECONDS", "900", "longest voice track or video to mix under, s"),
    Variable("MOODTUNE_API_KEY", "(none: open API)", "shared API key of the HTTP API"),
    Variable("MOODTUNE_USER_KEYS", "(none)", "per-user API keys, `alice:KEY1,bob:KEY2`"),
    Variable(
        "MOODTUNE_SECRET",
        "random, kept in `$MOODTUNE_HOME/secret.key`",
        "signing secret of session tokens and audio links",
    ),
    Variable("MOODTUNE_AUDIO_URL_TTL", "3600", "seconds a signed audio link stays valid"),
    Variable("MOODTUNE_TELEGRAM_TOKEN", "(none)", "bot token from @BotFather (`moodtune bot`)"),
    Variable("MOODTUNE_TELEGRAM_API", "Telegram's", "base URL of a local Bot API server"),
    Variable(
        "MOODTUNE_LLM_URL", "(none: no LLM)", "OpenAI-compatible endpoint; set turns the LLM on"
    ),
    Variable("MOODTUNE_LLM_MODEL", "the server's first model", "LLM model name"),
    Variable("MOODTUNE_LLM_KEY", "(none)", "LLM API key or access token"),
    Variable("MOODTUNE_LLM_TIMEOUT", "8", "time budget of one LLM answer, s (at most 300)"),
    Variable("MOODTUNE_LLM_JSON_MODE", "1", "`0`: never send `response_format`"),
    Variable(
        "MOODTUNE_LLM_CA_BUNDLE", "the system store", "CA certificate file for the LLM endpoint"
    ),
    Variable(
        "MOODTUNE_SUBSONIC_URL", "(none)", "Subsonic server, e.g. `https://music.example.org`"
    ),
    Variable("MOODTUNE_SUBSONIC_USER", "(none)", "Subsonic user name"),
    Variable("MOODTUNE_SUBSONIC_PASSWORD", "(none)", "Subsonic password"),
    Variable("MOODTUNE_SUBSONIC_PASSWORD_FILE", "(none)", "file holding the password (first line)"),
    Variable(
        "MOODTUNE_SUBSONIC_TOKEN", "(none)", "instead of the password: `md5(password + salt)`"
    ),
    Variable("MOODTUNE_SUBSONIC_SALT", "(none)", "the salt of `MOODTUNE_SUBSONIC_TOKEN`"),
    Variable("MPD_HOST", "`localhost`", "MPD host for `--to mpd` (`password@host` works)"),
    Variable("MPD_PORT", "6600", "MPD port for `--to mpd`"),
    Variable("MOODTUNE_MPD_PASSWORD", "(none)", "MPD password"),
    Variable(
        "MOODTUNE_MPD_MUSIC_DIR",
        "(none: ask MPD)",
        "MPD's `music_directory` as this machine sees it",
    ),
)

_NAMES: tuple[str, ...] = tuple(v.name for v in VARIABLES)


def _text(env: Mapping[str, str], name: str) -> str | None:
    """``env[name]`` stripped, or None when unset or blank."""
    value = (env.get(name) or "").strip()
    return value or None


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = _text(env, name)
    return Path(value).expanduser() if value else None


def _number(env: Mapping[str, str], name: str, default: float, *, low: float, high: float) -> float:
    """``env[name]`` as a number in [low, high], or ``default`` when unset; bad values raise."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (low <= value <= high):  # also False for NaN
        raise ParameterError(f"{name}={raw!r} must be a number from {low:g} to {high:g}")
    return value


@dataclass(frozen=True)
class Limits:
    """The one set of input limits, shared by the CLI, the HTTP API, the web page and the bot.

    Each can be changed with an environment variable (see :data:`VARIABLES`).

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
    json_depth : int
        Deepest nesting of a JSON request body (16).
    text_chars : int
        Longest typed message, characters (5000).
    sample_rate : int
        Highest sample rate of an audio stream that is decoded, Hz (:data:`MAX_SAMPLE_RATE`).
    channels : int
        Most channels of an audio stream that is decoded (:data:`MAX_CHANNELS`).
    """

    upload_bytes: int = 20_000_000
    file_bytes: int = 2000 * 1000 * 1000
    voice_seconds: float = 300.0
    music_seconds: float = 1800.0
    mix_seconds: float = 900.0
    json_bytes: int = 64_000
    json_depth: int = 16
    text_chars: int = MAX_TEXT_CHARS
    sample_rate: int = MAX_SAMPLE_RATE
    channels: int = MAX_CHANNELS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults with the ``MOODTUNE_MAX_*`` overrides of ``environ`` (default: os.environ).

        Raises
        ------
        ParameterError
            A variable is not a number in its range (the message names it).
        """
        env = os.environ if environ is None else environ
        d = cls()
        mb = 1000 * 1000
        return cls(
            upload_bytes=round(
                _number(env, "MOODTUNE_MAX_UPLOAD_MB", d.upload_bytes / mb, low=0.01, high=2000)
                * mb
            ),
            file_bytes=round(
                _number(env, "MOODTUNE_MAX_FILE_MB", d.file_bytes / mb, low=0.01, high=100_000) * mb
            ),
            voice_seconds=_number(
                env, "MOODTUNE_MAX_VOICE_SECONDS", d.voice_seconds, low=1, high=7200
            ),
            music_seconds=_number(
                env, "MOODTUNE_MAX_MUSIC_SECONDS", d.music_seconds, low=1, high=36_000
            ),
            mix_seconds=_number(env, "MOODTUNE_MAX_MIX_SECONDS", d.mix_seconds, low=1, high=36_000),
        )


@dataclass(frozen=True)
class LLMSettings:
    """The optional LLM endpoint (``MOODTUNE_LLM_*``); checked by :mod:`moodtune.llm.client`.

    Attributes
    ----------
    url : str or None
        Base URL of the OpenAI-compatible API; None: no LLM.
    model, key, ca_bundle : str or None
        Model name, API key (kept out of ``repr``), CA certificate file.
    timeout : float
        Time budget of one answer, seconds (the range is checked by ``LLMConfig``).
    json_mode : bool
        Ask for ``response_format={"type": "json_object"}``.
    error : str or None
        Why a variable is unusable (the LLM is then not used, and the note says why).
    """

    url: str | None = None
    model: str | None = None
    key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_LLM_TIMEOUT_S
    json_mode: bool = True
    ca_bundle: str | None = None
    error: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LLMSettings:
        """Read ``MOODTUNE_LLM_*`` from ``env``; never raises (problems go to ``error``)."""
        errors: list[str] = []
        timeout = DEFAULT_LLM_TIMEOUT_S
        raw_timeout = _text(env, "MOODTUNE_LLM_TIMEOUT")
        if raw_timeout:
            try:
                timeout = float(raw_timeout)
            except ValueError:
                errors.append(
                    f"MOODTUNE_LLM_TIMEOUT={raw_timeout!r} must be a number of seconds, e.g. 8"
                )
        raw_json = (_text(env, "MOODTUNE_LLM_JSON_MODE") or "1").lower()
        if raw_json not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
            errors.append(f"MOODTUNE_LLM_JSON_MODE={raw_json!r} must be 1 or 0")
        return cls(
            url=_text(env, "MOODTUNE_LLM_URL"),
            model=_text(env, "MOODTUNE_LLM_MODEL"),
            key=_text(env, "MOODTUNE_LLM_KEY"),
            timeout=timeout,
            json_mode=raw_json in ("1", "true", "yes", "on"),
            ca_bundle=_text(env, "MOODTUNE_LLM_CA_BUNDLE"),
            error="; ".join(errors) or None,
        )


@dataclass(frozen=True)
class SubsonicSettings:
    """The Subsonic server (``MOODTUNE_SUBSONIC_*``), checked by ``integrations.subsonic``.

    Secrets are kept out of ``repr``; the password file is read where it is used.
    """

    url: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    password_file: Path | None = None
    token: str | None = field(default=None, repr=False)
    salt: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SubsonicSettings:
        """Read ``MOODTUNE_SUBSONIC_*`` from ``env``; never raises."""
        password = env.get("MOODTUNE_SUBSONIC_PASSWORD") or None  # not stripped: a secret
        return cls(
            url=(_text(env, "MOODTUNE_SUBSONIC_URL") or "").rstrip("/") or None,
            user=_text(env, "MOODTUNE_SUBSONIC_USER"),
            password=password,
            password_file=_path(env, "MOODTUNE_SUBSONIC_PASSWORD_FILE"),
            token=env.get("MOODTUNE_SUBSONIC_TOKEN") or None,
            salt=env.get("MOODTUNE_SUBSONIC_SALT") or None,
        )


@dataclass(frozen=True)
class MpdSettings:
    """The MPD server of ``--to mpd`` (``MPD_HOST``, ``MPD_PORT``, ``MOODTUNE_MPD_*``).

    Attributes
    ----------
    host : str
        Host name (a ``password@`` prefix of ``MPD_HOST`` is split off into ``password``).
    port : int
        Port, 1..65535.
    password : str or None
        ``MOODTUNE_MPD_PASSWORD``, else the ``password@`` part of ``MPD_HOST``; not in ``repr``.
    music_dir : Path or None
        MPD's ``music_directory`` as this machine sees it.
    error : str or None
        Why ``MPD_PORT`` is unusable (raised when MPD is used).
    """

    host: str = DEFAULT_MPD_HOST
    port: int = DEFAULT_MPD_PORT
    password: str | None = field(default=None, repr=False)
    music_dir: Path | None = None
    error: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MpdSettings:
        """Read the MPD variables from ``env``; never raises (problems go to ``error``)."""
        host = _text(env, "MPD_HOST") or DEFAULT_MPD_HOST
        host_password = None
        if "@" in host:
            host_password, host = host.split("@", 1)
        port_text = _text(env, "MPD_PORT") or str(DEFAULT_MPD_PORT)
        error = None
        port = DEFAULT_MPD_PORT
        if port_text.isdigit() and 0 < int(port_text) < 65536:
            port = int(port_text)
        else:
            error = f"MPD port {port_text!r} must be a number from 1 to 65535"
        return cls(
            host=host or DEFAULT_MPD_HOST,
            port=port,
            password=env.get("MOODTUNE_MPD_PASSWORD") or host_password or None,
            music_dir=_path(env, "MOODTUNE_MPD_MUSIC_DIR"),
            error=error,
        )


def _user_keys(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw.split(","):
        user, sep, key = item.strip().partition(":")
        if sep and user.strip() and key.strip():
            out[key.strip()] = user.strip()
    return out


def _threads(env: Mapping[str, str]) -> int | None:
    raw = _text(env, "MOODTUNE_CPU_THREADS")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ParameterError(f"MOODTUNE_CPU_THREADS={raw!r} must be a positive integer")
    return int(raw)


def _ttl(env: Mapping[str, str]) -> int:
    raw = _text(env, "MOODTUNE_AUDIO_URL_TTL")
    if raw is None:
        return DEFAULT_AUDIO_URL_TTL
    if not raw.isdigit() or int(raw) < 1:
        raise ParameterError(f"MOODTUNE_AUDIO_URL_TTL={raw!r} must be a positive number of seconds")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    """Everything moodtune reads from the environment (see :data:`VARIABLES`).

    Attributes
    ----------
    home, catalog, model_dir : Path or None
        ``MOODTUNE_HOME``, ``MOODTUNE_CATALOG``, ``MOODTUNE_MODEL_DIR`` (None: the
        defaults of :func:`home_dir`, :func:`default_catalog_path`, :func:`cache_dir`).
    library : tuple of Path
        ``MOODTUNE_LIBRARY``: extra folders whose scanned files may be served.
    cpu_threads : int or None
        ``MOODTUNE_CPU_THREADS``; None lets each model pick.
    debug : bool
        ``MOODTUNE_DEBUG`` set to anything.
    text_backend, speech_backend, asr_backend : str or None
        Registry keys (None: each registry's default).
    limits : Limits
        The input limits.
    api_key : str or None
        ``MOODTUNE_API_KEY`` (not in ``repr``).
    user_keys : dict
        ``MOODTUNE_USER_KEYS`` parsed: key -> user (not in ``repr``).
    secret : str or None
        ``MOODTUNE_SECRET`` (not in ``repr``); see :func:`secret_key`.
    audio_url_ttl : int
        Seconds a signed audio link stays valid.
    telegram_token, telegram_api : str or None
        The bot token (not in ``repr``) and a local Bot API server's URL.
    llm, subsonic, mpd
        The optional services' sections.
    """

    home: Path | None = None
    catalog: Path | None = None
    model_dir: Path | None = None
    library: tuple[Path, ...] = ()
    cpu_threads: int | None = None
    debug: bool = False
    text_backend: str | None = None
    speech_backend: str | None = None
    asr_backend: str | None = None
    limits: Limits = field(default_factory=Limits)
    api_key: str | None = field(default=None, repr=False)
    user_keys: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    secret: str | None = field(default=None, repr=False)
    audio_url_ttl: int = DEFAULT_AUDIO_URL_TTL
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api: str | None = None
    llm: LLMSettings = field(default_factory=LLMSettings)
    subsonic: SubsonicSettings = field(default_factory=SubsonicSettings)
    mpd: MpdSettings = field(default_factory=MpdSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse ``environ`` (default: the process's environment).

        Raises
        ------
        ParameterError
            A limit, ``MOODTUNE_CPU_THREADS`` or ``MOODTUNE_AUDIO_URL_TTL`` is unusable
            (the message names the variable).
        """
        env = os.environ if environ is None else environ
        library = env.get("MOODTUNE_LIBRARY") or ""
        return cls(
            home=_path(env, "MOODTUNE_HOME"),
            catalog=_path(env, "MOODTUNE_CATALOG"),
            model_dir=_path(env, "MOODTUNE_MODEL_DIR"),
            library=tuple(
                Path(p.strip()).expanduser() for p in library.split(os.pathsep) if p.strip()
            ),
            cpu_threads=_threads(env),
            debug=bool(env.get("MOODTUNE_DEBUG")),
            text_backend=_text(env, "MOODTUNE_TEXT_BACKEND"),
            speech_backend=_text(env, "MOODTUNE_SPEECH_BACKEND"),
            asr_backend=_text(env, "MOODTUNE_ASR_BACKEND"),
            limits=Limits.from_env(env),
            api_key=env.get("MOODTUNE_API_KEY") or None,
            user_keys=_user_keys(env.get("MOODTUNE_USER_KEYS") or ""),
            secret=env.get("MOODTUNE_SECRET") or None,
            audio_url_ttl=_ttl(env),
            telegram_token=_text(env, "MOODTUNE_TELEGRAM_TOKEN"),
            telegram_api=_text(env, "MOODTUNE_TELEGRAM_API"),
            llm=LLMSettings.from_env(env),
            subsonic=SubsonicSettings.from_env(env),
            mpd=MpdSettings.from_env(env),
        )


_CACHE: tuple[tuple[str | bytes | None, ...], Settings] | None = None
_CACHE_LOCK = threading.Lock()


_KEYS = tuple(os.fsencode(name) for name in _NAMES)


def _snapshot() -> tuple[str | bytes | None, ...]:
    """The raw values of the :data:`VARIABLES`, to tell whether the environment changed.

    On POSIX CPython the mapping behind ``os.environ`` (``_data``, bytes keys) is read
    directly: about 2 us instead of 70 us through ``os.environ.get``, which decodes each
    value. Every change made through ``os.environ`` (``monkeypatch.setenv`` included)
    lands there.
    """
    data = getattr(os.environ, "_data", None)
    if os.name == "posix" and isinstance(data, dict):
        return tuple(map(data.get, _KEYS))
    return tuple(os.environ.get(name) for name in _NAMES)


def settings() -> Settings:
    """The settings in force, parsed once per distinct environment (see the module docstring).

    Raises
    ------
    ParameterError
        A variable that must be right is not (see :meth:`Settings.from_env`).
    """
    global _CACHE
    key = _snapshot()
    cached = _CACHE
    if cached is not None and cached[0] == key:
        return cached[1]
    with _CACHE_LOCK:
        value = Settings.from_env()
        _CACHE = (key, value)
    return value


def reload_settings() -> Settings:
    """Forget the cached settings and parse the environment again (tests, servers)."""
    global _CACHE
    with _CACHE_LOCK:
        _CACHE = None
    return settings()


def limits() -> Limits:
    """The limits in force (``settings().limits``; see :class:`Limits`)."""
    return settings().limits


def describe_bytes(n: int) -> str:
    """``20_000_000`` -> ``"20 MB"``, ``64_000`` -> ``"64 KB"`` (decimal units)."""
    if n < 1_000_000:
        return f"{n / 1e3:.0f} KB"
    mb = n / 1e6
    return f"{mb:.0f} MB" if abs(mb - round(mb)) < 0.05 or mb >= 100 else f"{mb:.1f} MB"


def home_dir() -> Path:
    """Return the data home, creating it if needed (``$MOODTUNE_HOME`` or the user data dir)."""
    path = settings().home or Path(platformdirs.user_data_dir("moodtune"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Return the model/embedding cache directory inside the data home."""
    path = home_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def model_root() -> Path:
    """Return the directory holding one sub-directory per model (``$MOODTUNE_MODEL_DIR``).

    Defaults to :func:`cache_dir`.
    """
    return settings().model_dir or cache_dir()


def default_catalog_path() -> Path:
    """Return the default catalog database path (``$MOODTUNE_CATALOG`` overrides it)."""
    return settings().catalog or home_dir() / "catalog.sqlite"


def library_roots() -> list[Path]:
    """Extra music folders whose scanned files may be served (``$MOODTUNE_LIBRARY``).

    Folders a ``moodtune scan`` ran on are recorded in the catalog and count already;
    this adds folders (``os.pathsep``-separated) for catalogs scanned before that.
    """
    return list(settings().library)


def cpu_threads(default: int | None = None) -> int:
    """Threads for a CPU model: ``$MOODTUNE_CPU_THREADS``, else ``default``.

    ``default=None`` means the CPUs this process may use, at most 8.
    """
    threads = settings().cpu_threads
    if threads is not None:
        return threads
    if default is not None:
        return default
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        count = os.cpu_count() or 1
    return max(1, min(count, 8))


def secret_key() -> bytes:
    """The server's signing secret (session tokens, audio URLs).

    ``$MOODTUNE_SECRET`` when set; otherwise 32 random bytes kept in ``secret.key`` in
    the data home (created on first use, readable by its owner only), so tokens survive
    restarts. Deleting the file signs everyone out.
    """
    env = settings().secret
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
    return dict(settings().user_keys)


def api_key() -> str | None:
    """The shared API key of the HTTP API (``$MOODTUNE_API_KEY``), or None."""
    return settings().api_key


def variables_table() -> str:
    """:data:`VARIABLES` as a markdown table (name, default, meaning), as README shows it."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.default} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(rows)


__all__ = [
    "DEFAULT_TRACKS",
    "MAX_CHANNELS",
    "MAX_SAMPLE_RATE",
    "MAX_TEXT_CHARS",
    "MAX_TRACKS",
    "MIN_TRACKS",
    "VARIABLES",
    "Limits",
    "LLMSettings",
    "MpdSettings",
    "Settings",
    "SubsonicSettings",
    "Variable",
    "api_key",
    "cache_dir",
    "cpu_threads",
    "default_catalog_path",
    "describe_bytes",
    "home_dir",
    "library_roots",
    "limits",
    "model_root",
    "reload_settings",
    "secret_key",
    "settings",
    "user_keys",
    "variables_table",
]
