"""Whisper through transformers (extra ``moodtune[hf]``): transcript and language.

``WhisperForConditionalGeneration`` + ``WhisperProcessor``, default ``openai/whisper-base``
(multilingual, MIT), fp32 on CPU unless told otherwise. It is the seed system's ASR; the
default :mod:`moodtune.speech.whisper` runs the same weights int8 on CTranslate2, several
times faster, and shares its encoder states with the emotion head, which this one does not.

How a message is decoded
------------------------
1. The audio is cut into balanced windows of at most 30 s (Whisper's window; cuts fall
   at fixed points, not at pauses), each padded to 30 s of log-mel features.
2. The encoder runs once per window.
3. Unless a language is forced, the decoder reads ``<|startoftranscript|>`` once on the
   first window, and the language tokens of the allowed languages (``ru``, ``en`` by
   default) are compared by softmax; the winner is used for every window.
4. Greedy decoding (``generate``) with ``task="transcribe"``, no timestamps, at most
   :data:`MAX_TOKENS_PER_S` tokens per second of audio (stops runaway repetition).

torch and transformers are imported inside :func:`load` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from moodtune.audio.checks import valid_mono
from moodtune.errors import ModelError, ParameterError
from moodtune.hf import from_pretrained, require_hf, resolve_device, split_windows
from moodtune.speech.asr_backends import Transcript

DEFAULT_MODEL = "openai/whisper-base"
#: Sample rate Whisper expects, in Hz.
SAMPLE_RATE = 16000
#: Whisper's window, in seconds.
WINDOW_S = 30
#: Most tokens decoded per second of audio.
MAX_TOKENS_PER_S = 15
#: Tokens decoded at least per window, however short.
MIN_TOKENS = 16
#: Languages auto-detection chooses among.
DEFAULT_LANGUAGES: tuple[str, ...] = ("ru", "en")
#: Prompt tokens ``generate`` puts before the text (start, language, task, no-timestamps).
PROMPT_TOKENS = 4


class TransformersWhisper:
    """Whisper ASR on transformers.

    Parameters
    ----------
    model : transformers.WhisperForConditionalGeneration
        In eval mode; its ``generation_config`` must know the language tokens
        (``lang_to_id``), as the published multilingual checkpoints do.
    processor : transformers.WhisperProcessor
        Feature extractor and tokenizer.
    device : torch.device
        Where the model lives.
    languages : sequence of str
        ISO 639-1 codes detection chooses among.
    """

    name = "transformers_whisper"

    def __init__(
        self,
        model: Any,
        processor: Any,
        *,
        device: Any,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
    ) -> None:
        torch, _ = require_hf()
        self._torch = torch
        self.model = model
        self.processor = processor
        self.device = device
        if not languages:
            raise ParameterError("languages is empty; give at least one code such as 'en'")
        self.languages = tuple(code.strip().lower() for code in languages)
        self.language_ids = [self._token_id(f"<|{code}|>") for code in self.languages]
        self.start_id = self._token_id("<|startoftranscript|>")
        self.max_target = int(getattr(model.config, "max_target_positions", 448))

    def _token_id(self, token: str) -> int:
        tokenizer = self.processor.tokenizer
        idx = tokenizer.convert_tokens_to_ids(token)
        if idx is None or idx == tokenizer.unk_token_id:
            raise ParameterError(
                f"the Whisper tokenizer has no token {token}; use a multilingual Whisper model "
                "and language codes it knows, such as 'ru' and 'en'"
            )
        return int(idx)

    def features(self, y: np.ndarray) -> Any:
        """Log-mel features of one window padded to 30 s, tensor (1, n_mels, 3000)."""
        out = self.processor.feature_extractor(
            y, sampling_rate=SAMPLE_RATE, return_tensors="pt"
        ).input_features
        return out.to(self.device, dtype=self.model.dtype)

    def detect_language(self, encoder_outputs: Any) -> tuple[str, float]:
        """Most likely allowed language of an encoded window and its probability."""
        torch = self._torch
        start = torch.tensor([[self.start_id]], device=self.device)
        with torch.inference_mode():
            logits = self.model(encoder_outputs=encoder_outputs, decoder_input_ids=start).logits
        scores = logits[0, -1, self.language_ids].float()
        probs = torch.softmax(scores, dim=-1).cpu().numpy()
        best = int(np.argmax(probs))
        return self.languages[best], float(probs[best])

    def _max_new_tokens(self, n_samples: int) -> int:
        wanted = max(MIN_TOKENS, int(np.ceil(MAX_TOKENS_PER_S * n_samples / SAMPLE_RATE)))
        return max(1, min(wanted, self.max_target - PROMPT_TOKENS - 1))

    def transcribe(self, y: np.ndarray, *, language: str | None = None) -> Transcript:
        """Transcribe mono 16 kHz audio.

        Parameters
        ----------
        y : numpy.ndarray
            Mono float audio at 16 kHz, shape (n,).
        language : str, optional
            ISO 639-1 code to force (any the tokenizer knows); detected among the allowed
            languages when None.

        Returns
        -------
        Transcript
            Text (windows joined by a space), language and its probability.
        """
        torch = self._torch
        y = valid_mono(y)
        if language is not None:
            language = language.strip().lower()
            self._token_id(f"<|{language}|>")
        probability = 1.0
        texts: list[str] = []
        for start, stop in split_windows(y.size, WINDOW_S * SAMPLE_RATE):
            feats = self.features(y[start:stop])
            with torch.inference_mode():
                encoded = self.model.get_encoder()(feats)
                if language is None:
                    language, probability = self.detect_language(encoded)
                try:
                    ids = self.model.generate(
                        encoder_outputs=encoded,
                        language=language,
                        task="transcribe",
                        max_new_tokens=self._max_new_tokens(stop - start),
                    )
                except ValueError as exc:
                    raise ModelError(f"Whisper generation failed: {exc}") from exc
            text = self.processor.batch_decode(ids, skip_special_tokens=True)[0].strip()
            if text:
                texts.append(text)
        return Transcript(
            text=" ".join(texts), language=language or "", language_probability=probability
        )


def load(
    *,
    model: str | None = None,
    device: str = "cpu",
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> TransformersWhisper:
    """Load Whisper and its processor from a hub id or a local ``save_pretrained`` directory.

    Parameters
    ----------
    model : str, optional
        Hub id or directory (model, ``generation_config.json`` and processor files);
        default :data:`DEFAULT_MODEL` (read when called).
    device : str
        Torch device name.
    languages : sequence of str
        ISO 639-1 codes auto-detection chooses among.

    Raises
    ------
    MissingDependencyError
        Without the ``hf`` extra.
    ModelError
        If the files cannot be loaded.
    ParameterError
        If the tokenizer lacks a language token asked for.
    """
    torch, transformers = require_hf()
    model = model or DEFAULT_MODEL
    dev = resolve_device(torch, device)
    processor = from_pretrained(transformers.WhisperProcessor.from_pretrained, model, "processor")
    net = from_pretrained(
        transformers.WhisperForConditionalGeneration.from_pretrained, model, "model"
    )
    return TransformersWhisper(net.to(dev).eval(), processor, device=dev, languages=languages)
