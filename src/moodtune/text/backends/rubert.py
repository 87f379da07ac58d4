"""Text emotion with ``cointegrated/rubert-tiny2-cedr-emotion-detection`` (extra ``moodtune[hf]``).

The model is rubert-tiny2 (a 3-layer BERT, ~29 M parameters) fine-tuned on the CEDR corpus
of Russian sentences by David Dale; it reads English too, less well. Its head is
multi-label: one sigmoid per class ``no_emotion, joy, sadness, surprise, fear, anger``.

Label mapping
-------------
Each class goes to its moodtune label (``no_emotion`` -> neutral, ``joy`` -> happiness, the
rest by name, through :func:`moodtune.types.canonical_label`). The sigmoid scores are
normalised to sum to 1 over the seven labels. CEDR has no *disgust*: it gets probability 0
(no floor; :mod:`moodtune.fusion` clips log-probabilities, so a zero is safe there). A
config that says ``problem_type="single_label_classification"`` gets a softmax instead.

torch and transformers are imported inside :func:`load` only. Select it with
``MOODTUNE_TEXT_BACKEND=rubert`` or ``moodtune.text.get_backend("rubert")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moodtune.errors import ParameterError
from moodtune.hf import (
    from_pretrained,
    label_index_map,
    require_hf,
    resolve_device,
    scores_to_probabilities,
)
from moodtune.text.backends import valid_texts
from moodtune.types import EmotionEstimate

DEFAULT_MODEL = "cointegrated/rubert-tiny2-cedr-emotion-detection"
#: Longest input in tokens (or the model's position limit, if lower); longer texts are
#: truncated (the model saw short sentences).
MAX_TOKENS = 512
#: Texts per forward pass in :meth:`RubertTextEmotion.predict_batch`.
BATCH_SIZE = 32


class RubertTextEmotion:
    """A BERT sequence classifier whose classes map onto the seven labels.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A sequence classification model (eval mode) with ``config.id2label``.
    tokenizer : transformers.PreTrainedTokenizerBase
        Its tokenizer.
    device : torch.device
        Where the model lives.
    activation : {"sigmoid", "softmax"}
        How logits become scores.
    """

    name = "rubert"

    def __init__(self, model: Any, tokenizer: Any, *, device: Any, activation: str) -> None:
        if activation not in ("sigmoid", "softmax"):
            raise ParameterError(f"activation={activation!r} must be 'sigmoid' or 'softmax'")
        torch, _ = require_hf()
        self._torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.activation = activation
        self.index_map = label_index_map(model.config.id2label)
        positions = getattr(model.config, "max_position_embeddings", MAX_TOKENS)
        self.max_tokens = int(min(MAX_TOKENS, positions))

    def scores(self, texts: list[str]) -> np.ndarray:
        """Per-class scores of the model, shape (n, n_classes), each in [0, 1]."""
        torch = self._torch
        out = []
        for start in range(0, len(texts), BATCH_SIZE):
            batch = self.tokenizer(
                texts[start : start + BATCH_SIZE],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                logits = self.model(**batch).logits.float()
            if self.activation == "sigmoid":
                s = torch.sigmoid(logits)
            else:
                s = torch.softmax(logits, dim=-1)
            out.append(s.cpu().numpy())
        return np.concatenate(out, axis=0)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities over the seven labels, shape (n, 7)."""
        return scores_to_probabilities(self.scores(texts), self.index_map)

    def predict(self, text: str) -> EmotionEstimate:
        """Return the emotion of one text (source ``"text"``)."""
        return self.predict_batch([text])[0]

    def predict_batch(self, texts: list[str]) -> list[EmotionEstimate]:
        """Return the emotion of each text."""
        texts = valid_texts(texts)
        if not texts:
            return []
        return [
            EmotionEstimate.from_probabilities(p, source="text") for p in self.predict_proba(texts)
        ]


def load(
    *, model: str = DEFAULT_MODEL, device: str = "cpu", activation: str | None = None
) -> RubertTextEmotion:
    """Load the model and tokenizer from a hub id or a local ``save_pretrained`` directory.

    Parameters
    ----------
    model : str
        Hub id or directory.
    device : str
        Torch device name.
    activation : {"sigmoid", "softmax"}, optional
        Defaults to softmax when the config says single-label, else sigmoid.

    Raises
    ------
    MissingDependencyError
        Without the ``hf`` extra.
    ModelError
        If the files cannot be loaded or a class has no moodtune label.
    """
    torch, transformers = require_hf()
    dev = resolve_device(torch, device)
    tokenizer = from_pretrained(transformers.AutoTokenizer.from_pretrained, model, "tokenizer")
    net = from_pretrained(
        transformers.AutoModelForSequenceClassification.from_pretrained, model, "model"
    )
    net = net.to(dev).eval()
    if activation is None:
        single = getattr(net.config, "problem_type", None) == "single_label_classification"
        activation = "softmax" if single else "sigmoid"
    return RubertTextEmotion(net, tokenizer, device=dev, activation=activation)
