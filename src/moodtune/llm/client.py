"""A small JSON client for any OpenAI-compatible chat endpoint.

Works with GigaChat's OpenAI-compatible API, Ollama, vLLM, llama.cpp's server and OpenAI
itself (see docs/llm.md). The ``openai`` SDK comes with ``pip install 'moodtune[llm]'`` and
is imported only when a client is built.

Every failure becomes one :class:`LLMError` with a short reason, so callers can fall back to
moodtune's built-in mapping in one ``except``: connection refused, timeout, an HTTP error
status, an empty reply, text without a JSON object, or JSON that breaks the schema.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moodtune.config import DEFAULT_LLM_TIMEOUT_S, LLMSettings, settings
from moodtune.errors import MoodtuneError, ParameterError, missing_extra

log = logging.getLogger(__name__)

#: Default time budget for one LLM answer, s (all requests of one call together).
DEFAULT_TIMEOUT_S = DEFAULT_LLM_TIMEOUT_S
#: Longest time budget accepted from the environment, s.
MAX_TIMEOUT_S = 300.0
#: Reply token limit.
MAX_TOKENS = 400
#: Placeholder sent as the key when none is configured (local servers ignore it).
NO_KEY = "no-key"

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


class LLMError(MoodtuneError):
    """The LLM could not give a usable answer; ``reason`` says why in a few words.

    Callers fall back to the built-in mapping or template; interfaces that do surface it
    treat it as a bad gateway.
    """

    http_status = 502

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LLMConfig:
    """Where the LLM is and how long to wait for it.

    Attributes
    ----------
    url : str
        Base URL of the OpenAI-compatible API, ending before ``/chat/completions``,
        e.g. ``http://127.0.0.1:11434/v1`` (Ollama).
    model : str or None
        Model name; ``None`` asks the server (``GET /models``) and takes the first.
    key : str or None
        API key or access token, sent as ``Authorization: Bearer <key>``.
    timeout : float
        Time budget of one answer in seconds (every request of one call together).
    json_mode : bool
        Ask for ``response_format={"type": "json_object"}``; a server that rejects it
        (HTTP 400/422) is asked again without it. The reply is parsed either way.
    max_retries : int
        Retries the SDK makes on connection errors, 429 and 5xx (within ``timeout``).
    ca_bundle : str or None
        A CA certificate file to trust (GigaChat's endpoint needs the Russian Trusted
        Root CA); ``None`` uses the system store.
    """

    url: str
    model: str | None = None
    key: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    json_mode: bool = True
    max_retries: int = 0
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not re.match(r"^https?://\S+$", self.url.strip()):
            raise ParameterError(
                f"LLM url={self.url!r} must be an http(s) base URL such as "
                "http://127.0.0.1:11434/v1"
            )
        object.__setattr__(self, "url", self.url.strip().rstrip("/"))
        t = self.timeout
        if (
            isinstance(t, bool)
            or not isinstance(t, int | float)
            or not math.isfinite(t)
            or not 0 < t <= MAX_TIMEOUT_S
        ):
            raise ParameterError(
                f"LLM timeout={t!r} must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]"
            )
        if isinstance(self.max_retries, bool) or not 0 <= int(self.max_retries) <= 5:
            raise ParameterError(f"LLM max_retries={self.max_retries!r} must be 0 to 5")
        for name in ("model", "key", "ca_bundle"):
            value = getattr(self, name)
            if value is not None and not str(value).strip():
                object.__setattr__(self, name, None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMConfig | None:
        """The configuration (``config.settings()``, or ``environ``); ``None`` without an LLM.

        ``MOODTUNE_LLM_URL`` (required to enable it), ``MOODTUNE_LLM_MODEL``,
        ``MOODTUNE_LLM_KEY``, ``MOODTUNE_LLM_TIMEOUT`` (seconds, default 8),
        ``MOODTUNE_LLM_JSON_MODE`` (``0`` to never send ``response_format``) and
        ``MOODTUNE_LLM_CA_BUNDLE`` (a CA file).

        Raises
        ------
        ParameterError
            A variable is set to something unusable (the message names it).
        """
        s = settings().llm if environ is None else LLMSettings.from_env(environ)
        if not s.url:
            return None
        if s.error:
            raise ParameterError(s.error)
        try:
            return cls(
                url=s.url,
                model=s.model,
                key=s.key,
                timeout=s.timeout,
                json_mode=s.json_mode,
                ca_bundle=s.ca_bundle,
            )
        except ParameterError as exc:
            raise ParameterError(f"MOODTUNE_LLM_*: {exc}") from None

    def describe(self) -> str:
        """Short text for logs and notes: model and URL, never the key."""
        return f"{self.model or '(server default model)'} at {self.url}"


def extract_json(text: str) -> dict[str, Any]:
    r"""The first JSON object in a model's reply.

    Tolerates ```` ```json ```` fences, text around the object and ``<think>`` blocks.
    ``NaN`` and ``Infinity`` are not JSON and are refused.

    Raises
    ------
    LLMError
        No JSON object in the text.

    Examples
    --------
    >>> extract_json('Sure!\n```json\n{"energy": 0.4}\n```')
    {'energy': 0.4}
    """

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    decoder = json.JSONDecoder(parse_constant=refuse)
    body = _THINK.sub("", text or "").strip()
    if not body:
        raise LLMError("gave an empty reply")
    candidates = [m.group(1) for m in _FENCE.finditer(body)] + [body]
    for chunk in candidates:
        start = chunk.find("{")
        while start >= 0:
            try:
                obj, _ = decoder.raw_decode(chunk, start)
            except ValueError:
                start = chunk.find("{", start + 1)
                continue
            if isinstance(obj, dict):
                return obj
            start = chunk.find("{", start + 1)
    snippet = " ".join(body.split())[:60]
    raise LLMError(f"reply is not JSON ({snippet!r})")


def validate(obj: Any, schema: Mapping[str, Any]) -> None:
    """Check ``obj`` against a JSON schema.

    Raises
    ------
    LLMError
        Naming the first violation, e.g. ``schema: 'energy': 'high' is not of type 'number'``.
    MissingDependencyError
        ``jsonschema`` is not installed.
    """
    try:
        import jsonschema
    except ImportError:
        raise missing_extra("jsonschema", "llm") from None
    validator = jsonschema.Draft202012Validator(dict(schema))
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path)
        msg = err.message if len(err.message) <= 120 else err.message[:117] + "..."
        raise LLMError(f"reply breaks the schema ({where + ': ' if where else ''}{msg})")


class LLMClient:
    """Chat with an OpenAI-compatible endpoint and get validated JSON back.

    Parameters
    ----------
    config : LLMConfig

    Raises
    ------
    MissingDependencyError
        The ``openai`` SDK is not installed (``pip install 'moodtune[llm]'``).
    """

    def __init__(self, config: LLMConfig) -> None:
        try:
            import openai
        except ImportError:
            raise missing_extra("openai", "llm") from None
        self.config = config
        self._openai = openai
        http_client = None
        if config.ca_bundle:
            import ssl

            try:
                context = ssl.create_default_context(cafile=config.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise ParameterError(
                    f"MOODTUNE_LLM_CA_BUNDLE={config.ca_bundle!r} is not a readable CA file: {exc}"
                ) from None
            http_client = openai.DefaultHttpxClient(verify=context)
        self._client = openai.OpenAI(
            base_url=config.url,
            api_key=config.key or NO_KEY,
            timeout=config.timeout,
            max_retries=int(config.max_retries),
            http_client=http_client,
        )
        self._json_mode = config.json_mode
        self._model = config.model

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LLMClient | None:
        """A client for :meth:`LLMConfig.from_env`, or ``None`` when no LLM is configured."""
        config = LLMConfig.from_env(environ)
        return None if config is None else cls(config)

    @property
    def model(self) -> str | None:
        """The model name in use (``None`` until the server was asked, if not configured)."""
        return self._model

    def _remaining(self, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0.05:
            raise LLMError(f"timed out after {self.config.timeout:g} s")
        return left

    def _call(self, fn: Any, deadline: float, **kwargs: Any) -> Any:
        """Run one SDK call within the deadline, turning every failure into LLMError."""
        openai = self._openai
        try:
            return fn(timeout=self._remaining(deadline), **kwargs)
        except LLMError:
            raise
        except openai.APITimeoutError:
            raise LLMError(f"timed out after {self.config.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc.__context__
            detail = f": {type(cause).__name__}" if cause is not None else ""
            raise LLMError(f"cannot connect to {self.config.url}{detail}") from None
        except openai.APIStatusError as exc:
            body = exc.body
            text = body.get("message") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text.strip():
                text = re.sub(r"^Error code: \d+ - ", "", str(exc.message))
            text = " ".join(text.split())[:100]
            hint = " (check MOODTUNE_LLM_KEY)" if exc.status_code in (401, 403) else ""
            raise LLMError(f"HTTP {exc.status_code}{hint}: {text}") from None
        except ValueError:  # a 200 whose body is not JSON (a proxy's HTML page, say)
            raise LLMError("answered something that is not an OpenAI chat reply") from None
        except Exception as exc:  # the SDK's parsing of a broken reply, httpx internals
            raise LLMError(f"{type(exc).__name__}: {str(exc)[:100]}") from None

    def _resolve_model(self, deadline: float) -> str:
        if self._model:
            return self._model
        page = self._call(self._client.models.list, deadline)
        ids = [getattr(m, "id", None) for m in getattr(page, "data", None) or []]
        ids = [i for i in ids if i]
        if not ids:
            raise LLMError("no model configured (MOODTUNE_LLM_MODEL) and the server lists none")
        self._model = str(ids[0])
        return self._model

    def chat_json(
        self,
        messages: Sequence[Mapping[str, str]],
        schema: Mapping[str, Any],
        *,
        temperature: float = 0.2,
        max_tokens: int = MAX_TOKENS,
    ) -> dict[str, Any]:
        """Send a chat and return the reply's first JSON object, validated.

        Parameters
        ----------
        messages : sequence of {"role", "content"}
            The chat (system, user...).
        schema : mapping
            JSON schema (draft 2020-12) the object must satisfy.
        temperature : float
            Sampling temperature (low: stable answers).
        max_tokens : int
            Reply length limit.

        Returns
        -------
        dict

        Raises
        ------
        LLMError
            Unreachable, timed out (within :attr:`LLMConfig.timeout` for the whole call),
            HTTP error, empty or non-JSON reply, or a schema violation.
        """
        deadline = time.monotonic() + self.config.timeout
        model = self._resolve_model(deadline)
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [dict(m) for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
        }
        create = self._client.chat.completions.create
        if self._json_mode:
            try:
                reply = self._call(
                    create, deadline, response_format={"type": "json_object"}, **kwargs
                )
            except LLMError as exc:
                if not exc.reason.startswith(("HTTP 400", "HTTP 422")):
                    raise
                log.info("%s rejected response_format (%s); asking without it", model, exc)
                self._json_mode = False
                reply = self._call(create, deadline, **kwargs)
        else:
            reply = self._call(create, deadline, **kwargs)
        try:
            content = reply.choices[0].message.content
        except (AttributeError, IndexError, TypeError):
            raise LLMError("reply has no message") from None
        if not isinstance(content, str) or not content.strip():
            raise LLMError("gave an empty reply")
        obj = extract_json(content)
        validate(obj, schema)
        return obj

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
