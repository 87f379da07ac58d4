"""What the facade answers: the emotion heard in a message and a playlist for it.

Both are JSON-ready through ``to_dict()``; every interface prints or sends that shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moodtune.fusion import is_unsure
from moodtune.types import EmotionEstimate


@dataclass
class EmotionResult:
    """The emotion heard in one message, with the parts it came from.

    Attributes
    ----------
    emotion : EmotionEstimate
        The final (fused, when there are several sources) estimate.
    language : str
        ``"ru"``, ``"en"`` or ``"unknown"``.
    transcript : str or None
        What was said, for voice messages; ``None`` for typed text.
    parts : dict
        The estimate of each source (``"voice"``, ``"text"``).
    message : str or None
        The typed text (cleaned), for typed messages; not part of :meth:`to_dict`.
    """

    emotion: EmotionEstimate
    language: str
    transcript: str | None = None
    parts: dict[str, EmotionEstimate] = field(default_factory=dict)
    message: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``emotion``, ``parts``, ``language`` (and ``transcript``).

        Voice messages also get ``unsure``: which of ``"voice"`` and ``"fused"`` are
        unsure (:func:`moodtune.fusion.is_unsure`), to show as such rather than as bars.
        """
        out: dict[str, Any] = {
            "emotion": self.emotion.to_dict(),
            "parts": {k: v.to_dict() for k, v in self.parts.items()},
            "language": self.language,
        }
        if self.transcript is not None:
            out["transcript"] = self.transcript
        if "voice" in self.parts:
            # which of the voice and the fused estimate to show as "unsure", not as a bar
            shown = {"voice": self.parts["voice"], "fused": self.emotion}
            out["unsure"] = [k for k, est in shown.items() if is_unsure(est)]
        return out


@dataclass
class PlaylistResult:
    """A playlist for an emotion, with a reason and a target point per track."""

    emotion: EmotionResult
    strategy: str
    tracks: list[dict[str, Any]]
    targets: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the emotion fields plus ``strategy``, ``targets`` and ``tracks``.

        ``targets`` says which music feature targets the playlist aimed at and where they
        came from: ``source`` is ``"llm"`` or ``"builtin"``, with a ``note`` on why.
        ``notes`` holds one line per filter that could not be applied as asked or
        fallback taken (empty when none).
        """
        out = self.emotion.to_dict() | {"strategy": self.strategy}
        if self.targets is not None:
            out["targets"] = self.targets
        return out | {"tracks": self.tracks, "notes": self.notes}
