"""Regenerate tests/data/speech_emotion/: the speech-emotion head's known-answer fixture.

The clips are chosen by a rule fixed before the model is run, never by its answers:

* corpus: RAVDESS speech (the shared copy's ``metadata.csv``, 16 kHz Ogg Opus re-encoding);
* speakers: the corpus's own ``test`` split (Actor_02, Actor_13, Actor_17, Actor_24, fixed by
  the dataset's sha256 split rule), sorted by name;
* one clip per product label, in :data:`moodtune.types.LABELS` order (RAVDESS's ``calm`` is
  not used: the product folds it into neutral); label number ``k`` takes speaker
  ``k mod 4``, so both genders appear;
* the clip is that speaker's first file of that emotion by sorted file name.

Then the real pipeline runs on each clip (decode, Whisper-base ``speech_states`` with VAD,
:meth:`~moodtune.speech.emotion.SpeechEmotionHead.features`) and the shipped head's
probabilities are stored, whatever they are (right or wrong): ``known_answers.npz`` holds
``files`` (7,), ``truth`` (7,) the corpus labels, ``features`` (7, d), ``probabilities``
(7, 7) and ``labels`` (7,) the head's argmax. ``README.md`` gets the table.

Run it whenever the shipped head (``src/moodtune/models/speech_emotion_head.npz``) or the
feature pipeline changes, and commit the result with the new head.

Usage: .venv/bin/python scripts/make_speech_known_answers.py \\
           --data /work/shared/data/speech_emotion/ravdess [--out tests/data/speech_emotion]
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import numpy as np

from moodtune.audio.decode import load_audio
from moodtune.speech.emotion import SpeechEmotionHead
from moodtune.speech.whisper import get_whisper
from moodtune.types import LABELS

#: RAVDESS emotion names for the product's labels.
RAVDESS_NAME = {
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happiness": "happy",
    "neutral": "neutral",
    "sadness": "sad",
    "surprise": "surprised",
}
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "speech_emotion"


def choose(data: Path) -> list[tuple[str, str, dict[str, str]]]:
    """(product label, clip path relative to ``data``, metadata row) per label, by the rule."""
    with (data / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    speakers = sorted({r["speaker"] for r in rows})
    if len(speakers) != 4:
        raise SystemExit(f"expected RAVDESS's 4 test speakers, found {speakers}")
    chosen = []
    for k, label in enumerate(LABELS):
        speaker = speakers[k % len(speakers)]
        mine = [r for r in rows if r["speaker"] == speaker and r["emotion"] == RAVDESS_NAME[label]]
        first = min(mine, key=lambda r: Path(r["path"]).name)
        chosen.append((label, first["path"], first))
    return chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the RAVDESS folder (metadata.csv)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    out: Path = args.out
    chosen = choose(args.data)
    for old in out.glob("03-01-*.ogg"):
        old.unlink()
    head = SpeechEmotionHead.load()
    asr = get_whisper()
    files, truth, feats = [], [], []
    for label, rel, _row in chosen:
        name = Path(rel).name
        shutil.copyfile(args.data / rel, out / name)  # an unchanged copy of the clip
        y = load_audio(out / name)
        feats.append(head.features(asr.speech_states(y), y))
        files.append(name)
        truth.append(label)
    features = np.vstack(feats)
    probs = head.predict_features(features)
    predicted = [LABELS[i] for i in probs.argmax(axis=1)]
    np.savez(
        out / "known_answers.npz",
        files=np.array(files),
        truth=np.array(truth),
        features=features,
        probabilities=probs,
        labels=np.array(predicted),
    )
    _write_readme(out, chosen, probs, predicted)
    hits = sum(p == t for p, t in zip(predicted, truth, strict=True))
    for (label, rel, row), p, pr in zip(chosen, predicted, probs, strict=True):
        print(
            f"{Path(rel).name}  {row['speaker']}  truth {label:<9}  head {p:<9}  p={pr.max():.2f}"
        )
    print(f"{hits}/{len(truth)} right (the clips were not chosen by this)")


def _write_readme(
    out: Path, chosen: list[tuple[str, str, dict[str, str]]], probs: np.ndarray, pred: list[str]
) -> None:
    rows = "\n".join(
        f"| `{Path(rel).name}` | {row['speaker']} ({row['gender']}) | {label} | "
        f'{row["intensity"]} | "{row["transcript"]}" | {p} ({pr.max():.2f}) |'
        for (label, rel, row), p, pr in zip(chosen, pred, probs, strict=True)
    )
    text = f"""# Speech-emotion test fixtures

Made by `scripts/make_speech_known_answers.py` (run it again after retraining the speech
head or changing its features; it rewrites this folder).

**How the clips were chosen** (a rule fixed before the model ran, never by its answers):
RAVDESS speech, the corpus's own `test` speakers (Actor_02, Actor_13, Actor_17, Actor_24,
by the dataset's sha256 split rule), one clip per product label in `moodtune.types.LABELS`
order; label number k takes the k-th speaker modulo 4; the clip is that speaker's first file
of that emotion by sorted file name (RAVDESS's `calm` is not used).

| file | speaker | corpus label | intensity | sentence | head's answer (p) |
|---|---|---|---|---|---|
{rows}

`known_answers.npz`: `files` (7,), `truth` (7,) the corpus labels, `features` (7, d) as
computed by the real pipeline (decode, Whisper-base `speech_states` with VAD, pooling,
prosody), `probabilities` (7, 7) the shipped head gave them and `labels` (7,) its argmax,
right or wrong. The tests compare a rerun of the pipeline with these numbers (features and
probabilities within tolerances), so a change anywhere in the voice path shows.

The clips are unchanged copies of moodtune's 16 kHz Ogg Opus re-encoding of the RAVDESS
speech set.

**Attribution and licence.** The Ryerson Audio-Visual Database of Emotional Speech and
Song (RAVDESS), Livingstone & Russo (2018), PLoS ONE 13(5): e0196391,
doi:10.5281/zenodo.1188976, licensed under CC BY-NC-SA 4.0 (Attribution-NonCommercial-ShareAlike).
These clips are redistributed here under the same licence, for testing only; they are not
part of the installed package.
"""
    (out / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
