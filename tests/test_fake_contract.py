"""The fake facade cannot drift from the real one.

1. Every public method of :class:`fakes.FakeMoodtune` exists on
   :class:`moodtune.service.Moodtune` with the same parameters (names, kinds, defaults)
   and the same kind of method (static or bound).
2. Every facade method the interfaces call on a service instance (found by reading the
   source of ``moodtune.api`` and ``moodtune.bot``) is implemented by the fake, so an
   interface that starts calling a new method fails here rather than in a slow test.
3. The interfaces import only the facade, the error family, types, config and their own
   package (issue 15, point 6).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from fakes import FakeMoodtune
from moodtune.service import Moodtune

SRC = Path(__file__).resolve().parents[1] / "src" / "moodtune"
#: Where the interfaces live, and the name each package may import besides the allowed ones.
INTERFACES = {"api": "moodtune.api", "bot": "moodtune.bot", "web": "moodtune.web"}
ALLOWED = ("moodtune.service", "moodtune.errors", "moodtune.types", "moodtune.config")
#: Names a service instance goes by in the interfaces' code.
SERVICE_NAMES = {"svc", "service"}


def _public(cls: type) -> dict[str, object]:
    return {
        name: inspect.getattr_static(cls, name)
        for name in dir(cls)
        if not name.startswith("_") and callable(getattr(cls, name))
    }


def _params(fn: object) -> list[tuple[str, object, object]]:
    sig = inspect.signature(fn.__func__ if isinstance(fn, staticmethod) else fn)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("name", sorted(_public(FakeMoodtune)))
def test_fake_method_has_the_real_signature(name: str) -> None:
    real = _public(Moodtune)
    assert name in real, f"FakeMoodtune.{name} is not a facade method"
    fake_fn, real_fn = inspect.getattr_static(FakeMoodtune, name), real[name]
    assert isinstance(fake_fn, staticmethod) == isinstance(real_fn, staticmethod), name
    assert _params(fake_fn) == _params(real_fn), name


def _interface_files() -> list[Path]:
    return sorted(p for d in INTERFACES for p in (SRC / d).rglob("*.py"))


def _called_on_service(tree: ast.AST) -> set[str]:
    """Attributes used on ``svc``, ``service``, ``ctx.service`` or ``self.service``."""
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        base = node.value
        if (isinstance(base, ast.Name) and base.id in SERVICE_NAMES) or (
            isinstance(base, ast.Attribute) and base.attr == "service"
        ):
            found.add(node.attr)
    return found


def test_the_fake_implements_every_method_the_interfaces_call() -> None:
    called: set[str] = set()
    for path in _interface_files():
        called |= _called_on_service(ast.parse(path.read_text(encoding="utf-8")))
    real = _public(Moodtune)
    facade_calls = {name for name in called if name in real}
    assert {"emotion_of", "recommend", "track_view", "add_feedback"} <= facade_calls  # sanity
    unknown = called - set(real) - {"get_service"}
    assert not unknown, f"interfaces call what the facade does not have: {sorted(unknown)}"
    missing = facade_calls - set(_public(FakeMoodtune))
    assert not missing, f"FakeMoodtune lacks {sorted(missing)}"


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "moodtune":
            out += [(node.lineno, f"moodtune.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
    return out


@pytest.mark.parametrize("path", _interface_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_interfaces_import_only_the_facade(path: Path) -> None:
    own = INTERFACES[path.relative_to(SRC).parts[0]]
    bad = [
        f"line {line}: {module}"
        for line, module in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if (module == "moodtune" or module.startswith("moodtune."))
        and not module.startswith((*ALLOWED, own))
    ]
    assert not bad, f"{path.name} imports internals: {bad}"
