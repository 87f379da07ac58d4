"""Speech emotion with ``superb/hubert-large-superb-er`` (extra ``moodtune[hf]``).

The model is HuBERT Large (24 layers, ~316 M parameters) with the SUPERB emotion
recognition head (weighted layer sum, mean pooling, linear), trained on IEMOCAP's four
classes ``neu, hap, ang, sad``. It reads raw 16 kHz audio; the Whisper encoder states the
default head reuses are ignored here.

Label mapping
-------------
``neu`` -> neutral, ``hap`` -> happiness, ``ang`` -> anger, ``sad`` -> sadness; the
softmax over the four classes becomes the distribution over the seven labels, and
*fear*, *disgust* and *surprise*, which IEMOCAP's four-class setup lacks, get
probability 0 (no floor; :mod:`moodtune.fusion` clips log-probabilities).

Long audio is cut into balanced windows of at most :data:`MAX_WINDOW_S` seconds (attention
cost grows with the square of the length); the windows' probabilities are averaged,
weighted by their duration. Audio shorter than :data:`MIN_SAMPLES` is zero-padded.

torch and transformers are imported inside :func:`load` only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from moodtune.audio.checks import valid_mono
from moodtune.hf import (
    from_pretrained,
    label_index_map,
    require_hf,
    resolve_device,
    scores_to_probabilities,
    split_windows,
)
from moodtune.types import EmotionEstimate

DEFAULT_MODEL = "superb/hubert-large-superb-er"
#: Sample rate the model expects, in Hz.
SAMPLE_RATE = 16000
#: Longest window run at once, in seconds.
MAX_WINDOW_S = 30.0
#: Shorter audio is zero-padded to this many samples (the conv front end needs 400).
MIN_SAMPLES = 1600
#: IEMOCAP's class names used by SUPERB, onto moodtune's labels.
SUPERB_LABELS: dict[str, str] = {
    "neu": "neutral",
    "hap": "happiness",
    "ang": "anger",
    "sad": "sadness",
    "exc": "happiness",
    "fru": "anger",
}


class HubertSpeechEmotion:
    """A HuBERT sequence classifier whose classes map onto the seven labels.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        An audio classification model (eval mode) with ``config.id2label``.
    feature_extractor : transformers.FeatureExtractionMixin
        Its feature extractor (``Wav2Vec2FeatureExtractor``: normalisation of raw audio).
    device : torch.device
        Where the model lives.
    max_window_s : float
        Longest window run at once, in seconds.
    """

    name = "hubert"

    def __init__(
        self,
        model: Any,
        feature_extractor: Any,
        *,
        device: Any,
        max_window_s: float = MAX_WINDOW_S,
    ) -> None:
        torch, _ = require_hf()
        self._torch = torch
        self.model = model
        self.feature_extractor = feature_extractor
        self.device = device
        self.window = max(MIN_SAMPLES, int(round(max_window_s * SAMPLE_RATE)))
        self.index_map = label_index_map(model.config.id2label, SUPERB_LABELS)

    def class_probabilities(self, y: np.ndarray) -> np.ndarray:
        """Softmax over the model's own classes for the whole clip, shape (n_classes,).

        Parameters
        ----------
        y : numpy.ndarray
            Mono float audio at 16 kHz, shape (n,).
        """
        torch = self._torch
        y = valid_mono(y)
        if y.size < MIN_SAMPLES:
            y = np.pad(y, (0, MIN_SAMPLES - y.size))
        total = np.zeros(len(self.index_map))
        for start, stop in split_windows(y.size, self.window):
            chunk = y[start:stop]
            if chunk.size < MIN_SAMPLES:
                chunk = np.pad(chunk, (0, MIN_SAMPLES - chunk.size))
            inputs = self.feature_extractor(
                chunk, sampling_rate=SAMPLE_RATE, return_tensors="pt"
            ).to(self.device)
            with torch.inference_mode():
                logits = self.model(**inputs).logits.float()
            probs = torch.softmax(logits, dim=-1)[0].cpu().numpy()
            total += probs * (stop - start)
        return total / y.size

    def predict(self, y: np.ndarray, *, states: np.ndarray | None = None) -> EmotionEstimate:
        """Return the emotion heard in ``y`` (source ``"voice"``); ``states`` are ignored."""
        probs = scores_to_probabilities(self.class_probabilities(y), self.index_map)
        return EmotionEstimate.from_probabilities(probs, source="voice")


def load(
    *, model: str | None = None, device: str = "cpu", max_window_s: float = MAX_WINDOW_S
) -> HubertSpeechEmotion:
    """Load the model and feature extractor from a hub id or a local directory.

    Parameters
    ----------
    model : str, optional
        Hub id or a directory written by ``save_pretrained`` (model and feature extractor);
        default :data:`DEFAULT_MODEL` (read when called).
    device : str
        Torch device name.
    max_window_s : float
        Longest window run at once, in seconds.

    Raises
    ------
    MissingDependencyError
        Without the ``hf`` extra.
    ModelError
        If the files cannot be loaded or a class has no moodtune label.
    """
    torch, transformers = require_hf()
    model = model or DEFAULT_MODEL
    dev = resolve_device(torch, device)
    extractor = from_pretrained(
        transformers.AutoFeatureExtractor.from_pretrained, model, "feature extractor"
    )
    net = from_pretrained(
        transformers.AutoModelForAudioClassification.from_pretrained, model, "model"
    )
    return HubertSpeechEmotion(net.to(dev).eval(), extractor, device=dev, max_window_s=max_window_s)
