"""The seed system's voice pipeline, for the end-to-end comparison in ``bench_voice.py``.

    .venv/bin/python bench/seed_pipeline.py [--repeats 3] [--lengths 5 10 30]

The seed ran three transformers models in fp32 on CPU, one after the other, for each
voice message:

1. ``superb/hubert-large-superb-er`` (``HubertForSequenceClassification``) over the raw
   16 kHz audio, after ``Wav2Vec2FeatureExtractor`` normalisation;
2. ``openai/whisper-base`` (``WhisperForConditionalGeneration``): ``WhisperFeatureExtractor``
   log-mels padded to 30 s, the encoder once, greedy ``generate`` of the transcript;
3. ``cointegrated/rubert-tiny2-cedr-emotion-detection`` (``BertForSequenceClassification``)
   over the transcript.

No weights can be downloaded here, so each architecture is built from its config with
random weights. The compute per message is the same as with the real weights, except for
the transcript length, which random weights do not produce: the decoder is made to emit
exactly :data:`TOKENS_PER_S` tokens per second of audio plus end-of-text
(``min_new_tokens = max_new_tokens``). 3.0 tokens/s: the six committed fixture sentences
(``tests/data/speech``) measure 2.5-3.4 Whisper tokens per second (mean 2.8); natural
speech is a little faster. rubert reads a text of ``max(20, 2 * seconds)`` random token
ids (the transcript's words in its own WordPiece vocabulary; tokenization itself costs
microseconds and needs the real vocabulary, which is not here).

Hyper-parameters (from the models' published ``config.json`` files on the Hugging Face
hub, written here from memory of them since the hub is unreachable; the ones that set
the compute are the widths, depths, heads, FFN sizes and the conv front end):

* hubert-large-superb-er: hidden 1024, 24 layers, 16 heads, FFN 4096, GELU; conv feature
  encoder 7 layers of 512 channels, kernels (10, 3, 3, 3, 3, 2, 2), strides
  (5, 2, 2, 2, 2, 2, 2) with bias and layer norm (``feat_extract_norm="layer"``),
  ``do_stable_layer_norm=True``; positional conv 128 wide in 16 groups; SUPERB head:
  weighted layer sum, projection 256, 4 classes. 315.7 M parameters as built here.
* whisper-base: d_model 512, 6 encoder + 6 decoder layers, 8 heads, FFN 2048, 80 mel bins,
  vocab 51865, 1500 source / 448 target positions, special token ids as published
  (``<|endoftext|>`` 50257, ``<|startoftranscript|>`` 50258, ``<|en|>`` 50259,
  ``<|ru|>`` 50263, ``<|transcribe|>`` 50359, ``<|notimestamps|>`` 50363). 72.6 M.
* rubert-tiny2: hidden 312, 3 layers, 12 heads, FFN 600, vocab 83828, 2048 positions,
  6 classes. 29.2 M.

Attention runs with transformers' default implementation (SDPA on torch 2.x). Threads:
torch's default (all cores this process may use). The first call builds the three models
(random initialisation, not reading 1.7 GB of weight files as the seed did: the cold start
here is not the seed's cold start).

Measured on the 2-core dev machine (AMD EPYC, AVX-512), shared with other jobs, medians of
3 after a warm-up: with torch's 2 threads at load average ~1, 2.41 s per 5 s message and
4.64 s for a single 10 s run (hubert ~3.1 s of it) before the load rose; with 1 thread at
load 1.3-3, 3.88 / 6.94 / 20.75 s per 5 / 10 / 30 s (CPU time = wall time; hubert 59-83 %
of it). Peak RSS 2.2 / 2.35 / 2.9 GB after the 5 / 10 / 30 s messages. Under a load
average of 5-7, torch's 2 threads slow down 3-10x (decoding most: 13.8 s for 31 tokens
against 0.9 s with 1 thread): report the load with every number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from typing import Any

import numpy as np

SR = 16000
#: Whisper tokens decoded per second of audio (see the module docstring).
TOKENS_PER_S = 3.0
#: Shortest text rubert reads, in tokens (with [CLS] and [SEP] added on top).
MIN_TEXT_TOKENS = 20

HUBERT_LARGE = dict(
    hidden_size=1024,
    num_hidden_layers=24,
    num_attention_heads=16,
    intermediate_size=4096,
    hidden_act="gelu",
    feat_extract_norm="layer",
    feat_extract_activation="gelu",
    conv_dim=(512, 512, 512, 512, 512, 512, 512),
    conv_stride=(5, 2, 2, 2, 2, 2, 2),
    conv_kernel=(10, 3, 3, 3, 3, 2, 2),
    conv_bias=True,
    num_conv_pos_embeddings=128,
    num_conv_pos_embedding_groups=16,
    do_stable_layer_norm=True,
    layer_norm_eps=1e-5,
    use_weighted_layer_sum=True,
    classifier_proj_size=256,
    id2label={0: "neu", 1: "hap", 2: "ang", 3: "sad"},
    label2id={"neu": 0, "hap": 1, "ang": 2, "sad": 3},
)

WHISPER_BASE = dict(
    vocab_size=51865,
    num_mel_bins=80,
    d_model=512,
    encoder_layers=6,
    decoder_layers=6,
    encoder_attention_heads=8,
    decoder_attention_heads=8,
    encoder_ffn_dim=2048,
    decoder_ffn_dim=2048,
    max_source_positions=1500,
    max_target_positions=448,
    activation_function="gelu",
    scale_embedding=False,
    pad_token_id=50257,
    bos_token_id=50257,
    eos_token_id=50257,
    decoder_start_token_id=50258,
)

WHISPER_TOKENS = {
    "eot": 50257,
    "sot": 50258,
    "en": 50259,
    "ru": 50263,
    "translate": 50358,
    "transcribe": 50359,
    "notimestamps": 50363,
}

RUBERT_TINY2 = dict(
    vocab_size=83828,
    hidden_size=312,
    num_hidden_layers=3,
    num_attention_heads=12,
    intermediate_size=600,
    max_position_embeddings=2048,
    type_vocab_size=2,
    hidden_act="gelu",
    id2label={0: "no_emotion", 1: "joy", 2: "sadness", 3: "surprise", 4: "fear", 5: "anger"},
    label2id={"no_emotion": 0, "joy": 1, "sadness": 2, "surprise": 3, "fear": 4, "anger": 5},
    problem_type="multi_label_classification",
)

_models: dict[str, Any] = {}


def build_seed_models() -> dict[str, Any]:
    """Build (once per process) the three models and their feature extractors."""
    if _models:
        return _models
    import torch
    import transformers as tf

    tf.logging.set_verbosity_error()  # generate's notes on max_length vs max_new_tokens
    torch.manual_seed(0)
    hubert = tf.HubertForSequenceClassification(tf.HubertConfig(**HUBERT_LARGE)).eval()
    whisper = tf.WhisperForConditionalGeneration(tf.WhisperConfig(**WHISPER_BASE)).eval()
    t = WHISPER_TOKENS
    whisper.generation_config = tf.GenerationConfig(
        decoder_start_token_id=t["sot"],
        eos_token_id=t["eot"],
        pad_token_id=t["eot"],
        bos_token_id=t["eot"],
        lang_to_id={"<|en|>": t["en"], "<|ru|>": t["ru"]},
        task_to_id={"translate": t["translate"], "transcribe": t["transcribe"]},
        no_timestamps_token_id=t["notimestamps"],
        is_multilingual=True,
        max_length=448,
        begin_suppress_tokens=[220, t["eot"]],
    )
    rubert = tf.BertForSequenceClassification(tf.BertConfig(**RUBERT_TINY2)).eval()
    _models.update(
        hubert=hubert,
        hubert_fe=tf.Wav2Vec2FeatureExtractor(
            feature_size=1, sampling_rate=SR, do_normalize=True, return_attention_mask=True
        ),
        whisper=whisper,
        whisper_fe=tf.WhisperFeatureExtractor(feature_size=80),
        rubert=rubert,
        torch=torch,
    )
    return _models


def transcript_tokens(seconds: float) -> int:
    """Whisper text tokens decoded for ``seconds`` of audio."""
    return max(1, int(round(TOKENS_PER_S * seconds)))


def run_seed_pipeline(
    y: np.ndarray, *, max_new_tokens: int | None = None, stages: dict[str, float] | None = None
) -> float:
    """Run the seed pipeline on one message and return its wall-clock seconds.

    Parameters
    ----------
    y : numpy.ndarray
        Mono float audio at 16 kHz, shape (n,).
    max_new_tokens : int, optional
        Transcript tokens to decode; default :func:`transcript_tokens` of the duration.
        One end-of-text step is decoded after them.
    stages : dict, optional
        If given, filled with the seconds of each stage: ``hubert``, ``whisper_features``,
        ``whisper_encoder``, ``whisper_decode``, ``rubert``.

    Returns
    -------
    float
        Seconds for the three models, feature extraction included (model building on
        the first call is not included; time the first call yourself for a cold start).
    """
    m = build_seed_models()
    torch = m["torch"]
    y = np.ascontiguousarray(y, dtype=np.float32)
    seconds = y.size / SR
    n_tokens = transcript_tokens(seconds) if max_new_tokens is None else int(max_new_tokens)
    n_text = max(MIN_TEXT_TOKENS, int(round(2 * seconds)))
    rng = np.random.default_rng(0)
    text_ids = torch.tensor([[2, *rng.integers(1000, 80000, n_text).tolist(), 3]])
    marks = [time.perf_counter()]
    with torch.inference_mode():
        # 1. speech emotion
        inputs = m["hubert_fe"](y, sampling_rate=SR, return_tensors="pt")
        torch.softmax(m["hubert"](**inputs).logits, dim=-1)
        marks.append(time.perf_counter())
        # 2. transcript: features, the encoder once, greedy decoding on its states
        feats = m["whisper_fe"](y, sampling_rate=SR, return_tensors="pt").input_features
        marks.append(time.perf_counter())
        encoded = m["whisper"].get_encoder()(feats)
        marks.append(time.perf_counter())
        out = m["whisper"].generate(
            encoder_outputs=encoded,
            language="en",
            task="transcribe",
            max_new_tokens=n_tokens + 1,
            min_new_tokens=n_tokens + 1,
        )
        marks.append(time.perf_counter())
        # 3. text emotion
        torch.sigmoid(m["rubert"](input_ids=text_ids).logits)
        marks.append(time.perf_counter())
    elapsed = marks[-1] - marks[0]
    if stages is not None:
        names = ("hubert", "whisper_features", "whisper_encoder", "whisper_decode", "rubert")
        stages.update({k: b - a for k, a, b in zip(names, marks[:-1], marks[1:], strict=True)})
    if out.shape[-1] < n_tokens + 1:
        raise RuntimeError(f"decoded {out.shape[-1]} tokens, wanted {n_tokens + 1}")
    return elapsed


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux ``ru_maxrss``)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_seed(
    seconds_list: tuple[float, ...] = (5, 10, 30), repeats: int = 3, *, seed: int = 0
) -> list[dict[str, Any]]:
    """Median seconds per message of each length, after one warm-up call per length.

    Messages are brown noise (the compute does not depend on the content).

    Returns
    -------
    list of dict
        One per length: ``seconds``, ``tokens``, ``median_s``, ``runs_s``,
        ``cpu_median_s`` (CPU seconds of all threads: less sensitive than wall time to
        other jobs on a shared machine), ``stages_median_s``, ``peak_rss_mb`` (of the
        process so far), and on the first one ``build_s`` and ``first_call_s``.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    build_seed_models()
    build_s = time.perf_counter() - t0
    for i, seconds in enumerate(seconds_list):
        y = np.cumsum(rng.standard_normal(int(seconds * SR))).astype(np.float32)
        y = 0.1 * (y - y.mean()) / (y.std() + 1e-9)
        first = run_seed_pipeline(y)
        runs, parts, cpu = [], [], []
        for _ in range(repeats):
            stages: dict[str, float] = {}
            c0 = time.process_time()
            runs.append(run_seed_pipeline(y, stages=stages))
            cpu.append(time.process_time() - c0)
            parts.append(stages)
        row: dict[str, Any] = {
            "seconds": seconds,
            "tokens": transcript_tokens(seconds),
            "median_s": round(statistics.median(runs), 3),
            "runs_s": [round(r, 3) for r in runs],
            "cpu_median_s": round(statistics.median(cpu), 3),
            "stages_median_s": {
                k: round(statistics.median(p[k] for p in parts), 3) for k in parts[0]
            },
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        if i == 0:
            row.update(build_s=round(build_s, 2), first_call_s=round(first, 3))
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--lengths", type=float, nargs="+", default=[5.0, 10.0, 30.0])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, load {os.getloadavg()}")
    for row in time_seed(tuple(args.lengths), args.repeats):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
