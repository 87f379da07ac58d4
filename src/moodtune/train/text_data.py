"""Load the labelled text-emotion corpora for training and evaluation.

Expected layout (as in the project's shared data folder)::

    DIR/<dataset>/{train,validation,test}.csv   columns: text, labels_common, language, ...

``labels_common`` maps each corpus's labels onto the speech vocabulary (``happy``,
``sad``, ``angry``...); we map those onto moodtune's seven labels and keep only
single-label rows (multi-label rows are ambiguous as a target).
"""

from __future__ import annotations

import csv
import hashlib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from moodtune.errors import ParameterError
from moodtune.types import LABELS, canonical_label

#: Corpora whose *train* split the shipped head learns from (all allow commercial use).
TRAIN_SETS: tuple[str, ...] = ("goemotions", "cedr", "ru_izard_emotions")
#: Most training rows kept per (corpus, label).
TRAIN_CAP_PER_LABEL = 6000
#: Held-out evaluation sets (test splits). dair_emotion is research-only: evaluation only.
EVAL_SETS: tuple[str, ...] = (
    "cedr",
    "goemotions",
    "ru_go_emotions",
    "ru_izard_emotions",
    "dair_emotion",
)


@dataclass
class TextRows:
    """Parallel lists of one corpus split."""

    dataset: str
    split: str
    texts: list[str]
    labels: list[int]
    languages: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def read_split(data_dir: Path, dataset: str, split: str) -> TextRows:
    """Read the single-label rows of ``DIR/<dataset>/<split>.csv``.

    Raises
    ------
    ParameterError
        If the file does not exist.
    """
    path = Path(data_dir) / dataset / f"{split}.csv"
    if not path.is_file():
        raise ParameterError(f"{path} not found; --data must point at a text_emotion folder")
    rows = TextRows(dataset, split, [], [], [])
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            names = {canonical_label(x) for x in (rec.get("labels_common") or "").split(";") if x}
            text = (rec.get("text") or "").strip()
            if len(names) != 1 or not text:
                continue
            rows.texts.append(text)
            rows.labels.append(LABELS.index(names.pop()))
            rows.languages.append(rec.get("language") or "")
    return rows


def drop_texts(rows: TextRows, banned: set[str]) -> TextRows:
    """Return ``rows`` without the texts in ``banned`` (keeps evaluation texts out of training)."""
    keep = [i for i, t in enumerate(rows.texts) if t not in banned]
    return TextRows(
        rows.dataset,
        rows.split,
        [rows.texts[i] for i in keep],
        [rows.labels[i] for i in keep],
        [rows.languages[i] for i in keep],
    )


def plain_style(text: str) -> str:
    """The text as a voice transcript or a hurried chat line: lower case, no punctuation.

    Apostrophes go without a trace ("I'm" becomes "im"), other punctuation becomes a space;
    emoji and other symbols stay (they carry feelings).

    Examples
    --------
    >>> plain_style("Oh, GREAT... I'm done!!! 🙄")
    'oh great im done 🙄'
    """
    text = text.lower().replace("'", "").replace("\u2019", "")
    kept = (" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join("".join(kept).split())


def with_plain_copies(rows: TextRows, *, max_words: int) -> TextRows:
    """Append a :func:`plain_style` copy of each row of at most ``max_words`` words it changes.

    Chat messages and voice transcripts often come without capitals or punctuation, which
    the corpora (Reddit, blogs, news) mostly have. The copy is made from the normalised text
    (:func:`moodtune.text.cues.normalize`), so emoticons such as ":(" become words first.
    """
    from moodtune.text.cues import normalize

    texts, labels, langs = list(rows.texts), list(rows.labels), list(rows.languages)
    for text, lab, lang in zip(rows.texts, rows.labels, rows.languages, strict=True):
        plain = plain_style(normalize(text))
        if plain and plain != text and len(plain.split()) <= max_words:
            texts.append(plain)
            labels.append(lab)
            langs.append(lang)
    return TextRows(rows.dataset, rows.split, texts, labels, langs)


def cap_per_label(rows: TextRows, cap: int) -> TextRows:
    """Keep at most ``cap`` rows per label, chosen deterministically by text hash.

    GoEmotions is 70% happy/neutral; capping balances the head and halves embedding time.
    """
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, lab in enumerate(rows.labels):
        by_label[lab].append(i)
    keep: list[int] = []
    for idx in by_label.values():
        idx.sort(key=lambda i: hashlib.sha256(rows.texts[i].encode()).hexdigest())
        keep.extend(idx[:cap])
    keep.sort()
    return TextRows(
        rows.dataset,
        rows.split,
        [rows.texts[i] for i in keep],
        [rows.labels[i] for i in keep],
        [rows.languages[i] for i in keep],
    )


def load_training_sets(
    data_dir: Path, *, cap: int = TRAIN_CAP_PER_LABEL
) -> tuple[list[TextRows], list[TextRows], list[TextRows]]:
    """Return (train, validation, test) lists of corpus splits.

    Training splits keep at most ``cap`` rows per label and corpus (see :func:`cap_per_label`).

    ru_izard_emotions translates GoEmotions like ru_go_emotions does: its train and
    validation rows whose text appears in ru_go_emotions' test split are dropped.
    """
    data_dir = Path(data_dir)
    test = [read_split(data_dir, name, "test") for name in EVAL_SETS]
    banned = set(next(r for r in test if r.dataset == "ru_go_emotions").texts)
    banned |= set(next(r for r in test if r.dataset == "ru_izard_emotions").texts)
    train = [
        cap_per_label(drop_texts(read_split(data_dir, name, "train"), banned), cap)
        for name in TRAIN_SETS
    ]
    val = [drop_texts(read_split(data_dir, name, "validation"), banned) for name in TRAIN_SETS]
    return train, val, test


def read_pairs(data_dir: Path, dataset: str, split: str) -> list[tuple[str, int, int]]:
    """Read the rows of ``DIR/<dataset>/<split>.csv`` that carry exactly two of the seven labels.

    These are the corpus's own mixed-feeling rows; they tune when the head reports ``mixed``.

    Returns
    -------
    list of (text, label index, label index)
    """
    path = Path(data_dir) / dataset / f"{split}.csv"
    if not path.is_file():
        raise ParameterError(f"{path} not found; --data must point at a text_emotion folder")
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            names = sorted(
                {canonical_label(x) for x in (rec.get("labels_common") or "").split(";") if x}
            )
            text = (rec.get("text") or "").strip()
            if len(names) == 2 and text and "neutral" not in names:
                out.append((text, LABELS.index(names[0]), LABELS.index(names[1])))
    return out


#: Styles of the short-message evaluation set (see ``tests/data/short_messages.md``).
MESSAGE_STYLES: tuple[str, ...] = (
    "chat",
    "slang",
    "emoji",
    "explicit",
    "negation",
    "sarcasm",
    "mixed",
    "transcript",
)


@dataclass
class ShortMessages:
    """The short-message evaluation set: parallel lists, ``label2`` is -1 where absent."""

    ids: list[str]
    texts: list[str]
    labels: list[int]
    labels2: list[int]
    languages: list[str]
    styles: list[str]

    def __len__(self) -> int:
        return len(self.texts)


def read_short_messages(path: Path) -> ShortMessages:
    """Read ``short_messages.csv`` (columns id, language, text, label, label2, style).

    Raises
    ------
    ParameterError
        If the file is missing or a row names an unknown label or style.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(
            f"{path} not found; pass --messages tests/data/short_messages.csv from a checkout"
        )
    out = ShortMessages([], [], [], [], [], [])
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            try:
                lab = LABELS.index(canonical_label(rec["label"]))
                lab2 = LABELS.index(canonical_label(rec["label2"])) if rec.get("label2") else -1
            except (ParameterError, ValueError, KeyError) as exc:
                raise ParameterError(f"{path}: row {rec.get('id')} has a bad label: {exc}") from exc
            if rec.get("style") not in MESSAGE_STYLES:
                raise ParameterError(
                    f"{path}: row {rec.get('id')} has unknown style {rec.get('style')!r}"
                )
            out.ids.append(rec["id"])
            out.texts.append(rec["text"])
            out.labels.append(lab)
            out.labels2.append(lab2)
            out.languages.append(rec["language"])
            out.styles.append(rec["style"])
    return out
