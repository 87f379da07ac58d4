"""The one settings object: every variable parsed in config, documented in README, cached."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from moodtune import config
from moodtune.config import VARIABLES, Limits, Settings, reload_settings, settings
from moodtune.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "moodtune"


def _env_reads(path: Path) -> list[str]:
    """``os.environ``/``os.getenv``/``environ.get``/``envvar=`` uses in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
            found.append(f"{path.name}:{node.lineno} {node.attr}")
        elif isinstance(node, ast.keyword) and node.arg == "envvar":
            found.append(f"{path.name}:{node.lineno} envvar=")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            names = {a.name for a in node.names}
            if names & {"environ", "getenv"}:
                found.append(f"{path.name}:{node.lineno} from os import")
    return found


def test_only_config_reads_the_environment() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "config.py":
            continue
        offenders += [f"{path.relative_to(SRC)}: {hit}" for hit in _env_reads(path)]
    assert offenders == [], "read settings through moodtune.config.settings() instead"


def test_config_reads_exactly_the_documented_variables() -> None:
    tree = ast.parse((SRC / "config.py").read_text(encoding="utf-8"))
    read = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and (node.value.startswith("MOODTUNE_") or node.value.startswith("MPD_"))
        and node.value.replace("_", "").isalnum()
        and node.value.isupper()
    }
    documented = {v.name for v in VARIABLES}
    assert read == documented
    assert len(documented) == len(VARIABLES)


def test_readme_documents_every_variable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert config.variables_table() in readme, "regenerate README's table from VARIABLES"
    for v in VARIABLES:
        assert f"| `{v.name}` |" in readme


def test_defaults_from_an_empty_environment() -> None:
    s = Settings.from_env({})
    assert s == Settings()
    assert s.limits == Limits()
    assert (s.limits.json_bytes, s.limits.json_depth, s.limits.text_chars) == (64_000, 16, 5000)
    assert (s.limits.sample_rate, s.limits.channels) == (
        config.MAX_SAMPLE_RATE,
        config.MAX_CHANNELS,
    )
    assert s.home is None and s.catalog is None and s.model_dir is None and s.library == ()
    assert s.cpu_threads is None and s.debug is False
    assert (s.text_backend, s.speech_backend, s.asr_backend) == (None, None, None)
    assert s.audio_url_ttl == config.DEFAULT_AUDIO_URL_TTL == 3600
    assert s.llm.url is None and s.llm.timeout == 8.0 and s.llm.json_mode is True
    assert (s.mpd.host, s.mpd.port, s.mpd.password, s.mpd.error) == ("localhost", 6600, None, None)
    assert s.subsonic.url is None and s.api_key is None and dict(s.user_keys) == {}


def test_values_are_parsed_and_typed(tmp_path: Path) -> None:
    env = {
        "MOODTUNE_HOME": str(tmp_path),
        "MOODTUNE_LIBRARY": os.pathsep.join(["/music", " ", "~/more"]),
        "MOODTUNE_CPU_THREADS": "3",
        "MOODTUNE_DEBUG": "1",
        "MOODTUNE_ASR_BACKEND": " transformers_whisper ",
        "MOODTUNE_MAX_UPLOAD_MB": "5",
        "MOODTUNE_MAX_VOICE_SECONDS": "60",
        "MOODTUNE_USER_KEYS": "alice:K1, bob:K2,broken,:K3",
        "MOODTUNE_AUDIO_URL_TTL": "60",
        "MOODTUNE_LLM_URL": "http://127.0.0.1:9/v1",
        "MOODTUNE_LLM_TIMEOUT": "2.5",
        "MOODTUNE_LLM_JSON_MODE": "off",
        "MOODTUNE_SUBSONIC_URL": "https://music.example.org/",
        "MPD_HOST": "pw@box",
        "MPD_PORT": "6601",
        "MOODTUNE_MPD_MUSIC_DIR": "~/Music",
    }
    s = Settings.from_env(env)
    assert s.home == tmp_path
    assert s.library == (Path("/music"), Path("~/more").expanduser())
    assert s.cpu_threads == 3 and s.debug is True
    assert s.asr_backend == "transformers_whisper"
    assert s.limits.upload_bytes == 5_000_000 and s.limits.voice_seconds == 60.0
    assert dict(s.user_keys) == {"K1": "alice", "K2": "bob"}
    assert s.audio_url_ttl == 60
    assert (s.llm.url, s.llm.timeout, s.llm.json_mode, s.llm.error) == (
        "http://127.0.0.1:9/v1",
        2.5,
        False,
        None,
    )
    assert s.subsonic.url == "https://music.example.org"
    assert (s.mpd.host, s.mpd.port, s.mpd.password) == ("box", 6601, "pw")
    assert s.mpd.music_dir == Path("~/Music").expanduser()
    # MOODTUNE_MPD_PASSWORD wins over the password in MPD_HOST
    assert Settings.from_env(env | {"MOODTUNE_MPD_PASSWORD": "x"}).mpd.password == "x"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MOODTUNE_MAX_UPLOAD_MB", "lots"),
        ("MOODTUNE_MAX_VOICE_SECONDS", "0"),
        ("MOODTUNE_MAX_MUSIC_SECONDS", "nan"),
        ("MOODTUNE_CPU_THREADS", "0"),
        ("MOODTUNE_CPU_THREADS", "two"),
        ("MOODTUNE_AUDIO_URL_TTL", "-5"),
    ],
)
def test_unusable_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ParameterError, match=name):
        Settings.from_env({name: value})


def test_optional_services_keep_their_problem_for_later() -> None:
    s = Settings.from_env(
        {"MOODTUNE_LLM_TIMEOUT": "soon", "MOODTUNE_LLM_JSON_MODE": "maybe", "MPD_PORT": "x"}
    )
    assert s.llm.error is not None
    assert "MOODTUNE_LLM_TIMEOUT" in s.llm.error and "MOODTUNE_LLM_JSON_MODE" in s.llm.error
    assert s.mpd.error is not None and "'x'" in s.mpd.error


def test_secrets_stay_out_of_repr() -> None:
    s = Settings.from_env(
        {
            "MOODTUNE_API_KEY": "k-api-123",
            "MOODTUNE_USER_KEYS": "alice:k-user-456",
            "MOODTUNE_SECRET": "k-sec-789",
            "MOODTUNE_TELEGRAM_TOKEN": "k-tg-000",
            "MOODTUNE_LLM_URL": "http://x/v1",
            "MOODTUNE_LLM_KEY": "k-llm-111",
            "MOODTUNE_SUBSONIC_PASSWORD": "k-sub-222",
            "MOODTUNE_SUBSONIC_TOKEN": "k-sub-333",
            "MPD_HOST": "k-mpd-444@box",
        }
    )
    text = repr(s)
    assert "http://x/v1" in text and "box" in text
    for secret in ("123", "456", "789", "000", "111", "222", "333", "444"):
        assert f"-{secret}" not in text


def test_settings_are_cached_until_a_variable_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOODTUNE_MAX_UPLOAD_MB", raising=False)
    first = settings()
    assert settings() is first
    assert config.limits() is first.limits
    monkeypatch.setenv("MOODTUNE_MAX_UPLOAD_MB", "7")
    changed = settings()
    assert changed is not first and config.limits().upload_bytes == 7_000_000
    assert settings() is changed
    fresh = reload_settings()
    assert fresh is not changed and fresh == changed


def test_helpers_read_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MOODTUNE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MOODTUNE_LIBRARY", str(tmp_path / "music"))
    monkeypatch.setenv("MOODTUNE_USER_KEYS", "ann:KEY")
    monkeypatch.setenv("MOODTUNE_API_KEY", "shared")
    monkeypatch.delenv("MOODTUNE_MODEL_DIR", raising=False)
    monkeypatch.delenv("MOODTUNE_SECRET", raising=False)
    assert config.home_dir() == tmp_path / "home" and config.home_dir().is_dir()
    assert config.default_catalog_path() == tmp_path / "home" / "catalog.sqlite"
    assert config.model_root() == tmp_path / "home" / "cache"
    assert config.library_roots() == [tmp_path / "music"]
    assert config.user_keys() == {"KEY": "ann"} and config.api_key() == "shared"
    key = config.secret_key()
    assert len(key) == 32 and config.secret_key() == key
    assert (tmp_path / "home" / "secret.key").stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("MOODTUNE_SECRET", "fixed")
    assert config.secret_key() == b"fixed"
    monkeypatch.setenv("MOODTUNE_CPU_THREADS", "2")
    assert config.cpu_threads() == 2 and config.cpu_threads(default=1) == 2
    monkeypatch.delenv("MOODTUNE_CPU_THREADS")
    assert config.cpu_threads(default=1) == 1 and 1 <= config.cpu_threads() <= 8
