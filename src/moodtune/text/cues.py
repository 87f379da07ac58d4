"""Hand-written cues of short chat messages: emoji and emoticons, explicit emotion words, negation.

Sentence encoders trained on Reddit, blogs and news read "😡😡😡" or "not happy at all"
poorly. This module turns such cues into something the learned parts can use:

- :func:`emoji_to_words` replaces emoji and emoticons that carry a feeling with an emotion
  word (in the message's language), so every encoder sees "angry angry angry" instead of
  pictographs it rarely met in training;
- :func:`cue_features` counts explicit emotion words per label, with simple negation handling
  ("not happy" counts toward sadness, "not scared" toward neutral), plus the emoji hits.

Why hand-written: the ``emoji`` package gives emoji *names* (":pouting_face:"), not
feelings, and no offline ru+en emotion lexicon with a commercial-use licence is available
here; the lists below are short, common words, and the weight each feature gets is learned
on the corpora's validation splits (see :mod:`moodtune.train.text_emotion`), never on the
short-message evaluation set.
"""

from __future__ import annotations

import re

import numpy as np

from moodtune.types import LABELS

#: Emoji / emoticon -> label. Only pictographs whose feeling is widely agreed.
EMOJI_LABELS: dict[str, str] = {
    # anger
    "😡": "anger",
    "🤬": "anger",
    "😠": "anger",
    "👿": "anger",
    "💢": "anger",
    "😤": "anger",
    "🙄": "anger",
    "🖕": "anger",
    # disgust
    "🤢": "disgust",
    "🤮": "disgust",
    "🤧": "disgust",
    "💩": "disgust",
    # fear
    "😱": "fear",
    "😨": "fear",
    "😰": "fear",
    "😧": "fear",
    "😬": "fear",
    "🫣": "fear",
    # happiness
    "😊": "happiness",
    "😀": "happiness",
    "😃": "happiness",
    "😄": "happiness",
    "😁": "happiness",
    "😆": "happiness",
    "😂": "happiness",
    "🤣": "happiness",
    "🥰": "happiness",
    "😍": "happiness",
    "😘": "happiness",
    "☺": "happiness",
    "🙂": "happiness",
    "😻": "happiness",
    "🥳": "happiness",
    "🎉": "happiness",
    "❤": "happiness",
    "💕": "happiness",
    "💖": "happiness",
    "💗": "happiness",
    "💓": "happiness",
    "😎": "happiness",
    "🤩": "happiness",
    "🙏": "happiness",
    "👏": "happiness",
    "🏆": "happiness",
    "🤗": "happiness",
    "😋": "happiness",
    "💃": "happiness",
    "🔥": "happiness",
    # sadness
    "😢": "sadness",
    "😭": "sadness",
    "😞": "sadness",
    "😔": "sadness",
    "😟": "sadness",
    "☹": "sadness",
    "🙁": "sadness",
    "💔": "sadness",
    "🥺": "sadness",
    "😿": "sadness",
    "😥": "sadness",
    "😓": "sadness",
    "😩": "sadness",
    "😫": "sadness",
    "🥲": "sadness",
    # surprise
    "😮": "surprise",
    "😲": "surprise",
    "😯": "surprise",
    "🤯": "surprise",
    "😳": "surprise",
    "😦": "surprise",
}

#: ASCII emoticons -> label (matched as whole tokens).
EMOTICON_LABELS: dict[str, str] = {
    ":)": "happiness",
    ":-)": "happiness",
    ":D": "happiness",
    ":-D": "happiness",
    "xD": "happiness",
    "XD": "happiness",
    ";)": "happiness",
    ";-)": "happiness",
    "=)": "happiness",
    "<3": "happiness",
    ")))": "happiness",
    "))": "happiness",
    ":3": "happiness",
    "^^": "happiness",
    "^_^": "happiness",
    ":(": "sadness",
    ":-(": "sadness",
    ":'(": "sadness",
    "((": "sadness",
    "(((": "sadness",
    "T_T": "sadness",
    ";(": "sadness",
    "</3": "sadness",
    ">:(": "anger",
    ">:-(": "anger",
    ":O": "surprise",
    ":o": "surprise",
    "o_O": "surprise",
    "O_o": "surprise",
    "0_0": "surprise",
}

#: The word an emoji becomes, by label and language.
LABEL_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "anger": "angry",
        "disgust": "disgusting",
        "fear": "scared",
        "happiness": "happy",
        "sadness": "sad",
        "surprise": "wow",
        "neutral": "",
    },
    "ru": {
        "anger": "злость",
        "disgust": "мерзко",
        "fear": "страшно",
        "happiness": "радость",
        "sadness": "грустно",
        "surprise": "ого",
        "neutral": "",
    },
}

# Explicit emotion words. English: lower-case word forms (a trailing "*" matches any ending).
# Russian: stems matched at the start of a token (Russian inflects heavily).
_EN_WORDS: dict[str, tuple[str, ...]] = {
    "anger": (
        "angry",
        "angrier",
        "angriest",
        "anger",
        "furious",
        "fuming",
        "livid",
        "enraged",
        "rage*",
        "mad",
        "pissed",
        "irritat*",
        "annoy*",
        "infuriat*",
        "outrag*",
        "hate",
        "hated",
        "hates",
        "hating",
        "resent*",
        "frustrat*",
        "seething",
        "irate",
        "wtf",
        "bullshit",
    ),
    "disgust": (
        "disgust*",
        "gross",
        "yuck",
        "eww*",
        "ew",
        "revolting",
        "repuls*",
        "nasty",
        "vile",
        "sickening",
        "nauseat*",
        "filthy",
        "creepy",
        "ick",
        "yuk",
    ),
    "fear": (
        "afraid",
        "scared",
        "scary",
        "fear*",
        "terrified",
        "terrifying",
        "frighten*",
        "panic*",
        "anxious",
        "anxiety",
        "nervous",
        "worried",
        "worry*",
        "dread*",
        "horrified",
        "petrified",
        "freaking",
        "spooked",
    ),
    "happiness": (
        "happy",
        "happier",
        "happiest",
        "glad",
        "joy*",
        "delighted",
        "thrilled",
        "excited",
        "love",
        "loved",
        "loving",
        "lovely",
        "wonderful",
        "amazing",
        "awesome",
        "great",
        "grateful",
        "thankful",
        "thanks",
        "thank",
        "proud",
        "yay",
        "haha*",
        "lol",
        "lmao",
        "blessed",
        "fantastic",
        "cheerful",
        "ecstatic",
        "overjoyed",
        "best",
        "congrats",
        "congratulations",
    ),
    "sadness": (
        "sad",
        "sadder",
        "saddest",
        "sadness",
        "unhappy",
        "depress*",
        "miserable",
        "heartbroken",
        "lonely",
        "alone",
        "cry",
        "crying",
        "cried",
        "tears",
        "grief",
        "griev*",
        "miss",
        "missing",
        "hopeless",
        "gloomy",
        "down",
        "hurt*",
        "upset",
        "devastated",
        "sorrow*",
        "empty",
    ),
    "surprise": (
        "surpris*",
        "shocked",
        "shocking",
        "stunned",
        "astonish*",
        "amazed",
        "unexpected*",
        "wow",
        "whoa",
        "omg",
        "unbelievable",
    ),
}
_RU_STEMS: dict[str, tuple[str, ...]] = {
    "anger": (
        "зл",
        "зла",
        "зол",
        "злост",
        "злю",
        "злит",
        "злость",
        "злой",
        "разозл",
        "ярост",
        "бешен",
        "взбес",
        "беси",
        "бесит",
        "раздраж",
        "ненавиж",
        "ненавист",
        "гнев",
        "возмут",
        "достал",
        "задолбал",
        "задолба",
        "бесяч",
        "выбеш",
        "вымота",
        "бомбит",
        "психу",
        "негодова",
        "злющ",
    ),
    "disgust": (
        "отвратит",
        "мерз",
        "омерзит",
        "противн",
        "тошн",
        "гадост",
        "гадк",
        "фу",
        "фуу",
        "фууу",
        "брезг",
        "мерзост",
        "вонь",
        "воня",
        "стошн",
        "отврат",
    ),
    "fear": (
        "страх",
        "страш",
        "боюсь",
        "боит",
        "бои",
        "боя",
        "испуга",
        "пуга",
        "ужасе",
        "паник",
        "тревож",
        "тревог",
        "волну",
        "волнен",
        "опаса",
        "жуть",
        "жутк",
        "очку",
        "переживаю",
        "беспоко",
    ),
    "happiness": (
        "рад",
        "рада",
        "рады",
        "радост",
        "радуе",
        "счаст",
        "ура",
        "класс",
        "кайф",
        "супер",
        "отличн",
        "прекрасн",
        "чудесн",
        "восторг",
        "обожа",
        "люблю",
        "любим",
        "спасиб",
        "благодар",
        "горж",
        "весел",
        "здорово",
        "круто",
        "ахах",
        "хаха",
        "лучш",
        "улыб",
        "нарадова",
        "поздрав",
        "ржу",
        "ору",
    ),
    "sadness": (
        "грус",
        "печал",
        "тоск",
        "плак",
        "плач",
        "слез",
        "скуча",
        "одинок",
        "одиноч",
        "депрес",
        "тяжело",
        "больно",
        "боль",
        "обидн",
        "обид",
        "горе",
        "уныл",
        "разочаров",
        "пуст",
        "ревел",
        "реву",
        "жаль",
        "несчаст",
        "хреново",
        "плохо",
    ),
    "surprise": (
        "удив",
        "неожидан",
        "шок",
        "ого",
        "офиге",
        "обалд",
        "ничего себе",
        "вау",
        "надо же",
        "поразит",
        "изумл",
        "внезап",
    ),
}
# Stems too short to match alone without false hits: these need the whole token.
_RU_WHOLE = {
    "зл",
    "зла",
    "зол",
    "рада",
    "рады",
    "фу",
    "фуу",
    "фууу",
    "ого",
    "ура",
    "рад",
    "боя",
    "бои",
    "ору",
    "горе",
    "вау",
}

_EN_NEGATORS = {
    "not",
    "no",
    "never",
    "nothing",
    "nobody",
    "don't",
    "dont",
    "doesn't",
    "doesnt",
    "didn't",
    "didnt",
    "isn't",
    "isnt",
    "aren't",
    "arent",
    "wasn't",
    "wasnt",
    "ain't",
    "aint",
    "can't",
    "cant",
    "couldn't",
    "couldnt",
    "won't",
    "wont",
    "hardly",
    "neither",
    "nor",
    "without",
}
_RU_NEGATORS = {"не", "ни", "нет", "никогда", "ничуть", "нисколько", "вовсе", "без", "нифига"}
# After a negator, these words keep the feeling positive ("couldn't be happier").
_EN_INTENSIFY_AFTER_NEG = ("happier", "better", "prouder")

_TOKEN = re.compile(r"[\w'’*]+|[^\w\s]", re.UNICODE)

#: Width of :func:`cue_features`: seven label counts from words, seven from emoji, and the
#: word counts again scaled by how short the message is.
CUE_DIM = 3 * len(LABELS)

#: Unambiguous emotion words (a subset of the lists above): in a short message, a single
#: one of these decides the label (see :func:`explicit_label`). English word forms and
#: Russian stems, matched like the lists above.
STRONG_EN: dict[str, tuple[str, ...]] = {
    "anger": (
        "angry",
        "furious",
        "fuming",
        "livid",
        "enraged",
        "infuriated",
        "irate",
        "seething",
        "pissed",
        "pisses",
    ),
    "disgust": ("disgusting", "disgusted", "revolting", "gross", "yuck"),
    "fear": ("afraid", "scared", "terrified", "frightened", "petrified", "horrified"),
    "happiness": ("happy", "overjoyed", "thrilled", "delighted", "ecstatic"),
    "sadness": ("sad", "heartbroken", "miserable", "depressed", "unhappy"),
    "surprise": ("surprised", "shocked", "stunned", "astonished"),
}
STRONG_RU: dict[str, tuple[str, ...]] = {
    "anger": ("ярост", "бешен", "взбес", "злюсь", "зла", "зол", "злой", "злая", "разозл", "злост"),
    "disgust": ("отвратит", "омерзит", "мерзост", "противно", "тошнит"),
    "fear": ("страшно", "боюсь", "ужасе", "испуга"),
    "happiness": ("счастлив", "счастье", "рада", "рад"),
    "sadness": ("грустно", "грущу", "печаль", "тоскл"),
    "surprise": ("удивл", "шоке", "шок"),
}
#: Longest message (in words) where :func:`explicit_label` applies.
EXPLICIT_MAX_WORDS = 8


def _is_cyrillic(token: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in token)


def _build_en() -> tuple[dict[str, str], list[tuple[str, str]]]:
    exact: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    for label, words in _EN_WORDS.items():
        for w in words:
            if w.endswith("*"):
                prefixes.append((w[:-1], label))
            else:
                exact.setdefault(w, label)
    return exact, prefixes


def _build_ru() -> tuple[dict[str, str], dict[str, str]]:
    whole: dict[str, str] = {}
    stems: dict[str, str] = {}
    for label, words in _RU_STEMS.items():
        for w in words:
            w = w.replace("ё", "е")
            (whole if w in _RU_WHOLE else stems).setdefault(w, label)
    return whole, stems


_EN_EXACT, _EN_PREFIXES = _build_en()
_RU_WHOLE_MAP, _RU_STEM_MAP = _build_ru()
_RU_MAX_STEM = max(len(k) for k in _RU_STEM_MAP)


def _match_en(token: str) -> str | None:
    lab = _EN_EXACT.get(token)
    if lab is not None:
        return lab
    for prefix, label in _EN_PREFIXES:
        if token.startswith(prefix):
            return label
    return None


def _match_ru(token: str) -> str | None:
    token = token.replace("ё", "е")
    lab = _RU_WHOLE_MAP.get(token)
    if lab is not None:
        return lab
    for n in range(min(len(token), _RU_MAX_STEM), 1, -1):
        lab = _RU_STEM_MAP.get(token[:n])
        if lab is not None:
            return lab
    return None


def _emoji_hits(text: str) -> list[str]:
    hits = [EMOJI_LABELS[ch] for ch in text if ch in EMOJI_LABELS]
    for tok in text.split():
        lab = EMOTICON_LABELS.get(tok)
        if lab is None and tok.strip(".,!?") in EMOTICON_LABELS:
            lab = EMOTICON_LABELS[tok.strip(".,!?")]
        if lab is not None:
            hits.append(lab)
    return hits


def emoji_to_words(text: str, *, language: str | None = None) -> str:
    """Replace emoji and emoticons that carry a feeling with an emotion word.

    Parameters
    ----------
    text : str
        A message.
    language : str, optional
        ``"ru"`` or ``"en"``; decided from the letters when not given (English when there
        are none, as for an emoji-only message).

    Returns
    -------
    str
        The text with each mapped emoji replaced by `` <word> `` (other characters kept).

    Examples
    --------
    >>> emoji_to_words("😡😡")
    'angry angry'
    >>> emoji_to_words("ну спасибо 🙄", language="ru")
    'ну спасибо злость'
    """
    if language not in LABEL_WORDS:
        language = "ru" if any(_is_cyrillic(ch) for ch in text) else "en"
    words = LABEL_WORDS[language]
    # variation selectors and joiners ("☺️" is U+263A U+FE0F) would be left as stray tokens
    text = text.replace("\ufe0f", "").replace("\ufe0e", "").replace("\u200d", "")
    out = []
    for ch in text:
        lab = EMOJI_LABELS.get(ch)
        out.append(f" {words[lab]} " if lab else ch)
    tokens = []
    for tok in "".join(out).split():
        lab = EMOTICON_LABELS.get(tok)
        tokens.append(words[lab] if lab else tok)
    return " ".join(tokens)


_CLAUSE_BREAKS = ("but", "но", "а", "just", "просто", ",", ".", ";", "!", "?")
_NEVER = ("never", "никогда")
_SO = ("so", "this", "that", "such", "так", "такой", "такая", "настолько", "таким", "такого")


def _hits(text: str) -> list[tuple[int, int, str, bool, int | None]]:
    """``(start, end, label, negated, negator start)`` for each explicit emotion word."""
    spans = [
        (m.start(), m.end(), m.group().lower().replace("’", "'")) for m in _TOKEN.finditer(text)
    ]
    tokens = [t for _, _, t in spans]
    hits = []
    for i, tok in enumerate(tokens):
        cyr = _is_cyrillic(tok)
        lab = _match_ru(tok) if cyr else _match_en(tok)
        end_i = i
        if lab is None and cyr and i + 1 < len(tokens):
            lab = _RU_WHOLE_MAP.get(f"{tok} {tokens[i + 1]}") or _RU_STEM_MAP.get(
                f"{tok} {tokens[i + 1]}"
            )
            end_i = i + 1
        if lab is None:
            continue
        lo = max(0, i - 3)
        window = tokens[lo:i]
        breaks = [j for j, w in enumerate(window) if w in _CLAUSE_BREAKS]
        if breaks:
            # "I'm not annoyed, I'm livid": the negation belongs to the earlier clause
            lo += breaks[-1] + 1
            window = tokens[lo:i]
        negators = _RU_NEGATORS if cyr else _EN_NEGATORS
        neg_at = next((lo + j for j, w in enumerate(window) if w in negators), None)
        negated = neg_at is not None and tok not in _EN_INTENSIFY_AFTER_NEG
        if (
            negated
            and any(w in _NEVER for w in tokens[max(0, i - 4) : i])
            and any(w in _SO for w in window)
        ):
            negated = False  # "never been this happy", "никогда не был так счастлив"
        if cyr and tok.startswith("нарадова"):
            negated = False  # "не могу нарадоваться" = very happy
        hits.append(
            (
                spans[i][0],
                spans[end_i][1],
                lab,
                negated,
                spans[neg_at][0] if negated and neg_at is not None else None,
            )
        )
    return hits


def word_hits(text: str) -> list[tuple[str, bool]]:
    """Return ``(label, negated)`` for each explicit emotion word in ``text``.

    A word is negated when one of the three tokens before it (within its clause) is a
    negator ("not", "never", "не", "ни"...), except comparatives ("couldn't be happier")
    and "never ... so/this ..." ("never been this happy").
    """
    return [(lab, neg) for _, _, lab, neg, _ in _hits(text)]


def rewrite_negations(text: str) -> str:
    """Replace a negated emotion word and its negator by what the phrase means.

    "not happy at all" becomes "sad at all" and "I'm not scared" becomes "I'm okay", in the
    message's language, so models that read words (and miss negation) see the meaning.

    Examples
    --------
    >>> rewrite_negations("not happy at all")
    'sad at all'
    >>> rewrite_negations("мне совсем не радостно")
    'мне совсем грустно'
    """
    out, pos = [], 0
    for start, end, lab, negated, neg_at in _hits(text):
        if not negated or neg_at is None or neg_at < pos:
            continue
        lang = "ru" if _is_cyrillic(text[start:end]) else "en"
        word = LABEL_WORDS[lang]["sadness"] if lab == "happiness" else _CALM[lang]
        out.append(text[pos:neg_at])
        out.append(word)
        pos = end
    out.append(text[pos:])
    return "".join(out)


_CALM = {"en": "okay", "ru": "нормально"}


_ELONGATED = re.compile(r"([^\W\d_])\1{2,}", re.UNICODE)
#: Short chat words a stretched spelling most often means ("soooo", "noooo", "дааа").
CHAT_WORDS = frozenset(
    {
        "so", "no", "oh", "yes", "ok", "omg", "wow", "why", "what", "please", "hi", "hey",
        "yay", "yeah", "yep", "nope", "ugh", "hmm", "lol", "damn", "fun", "too", "me", "now",
        "very", "really", "sorry", "thanks", "bye", "go", "ah",
        "очень", "да", "нет", "ну", "ой", "ох", "ах", "ура", "блин", "спасибо", "пока",
        "привет", "сильно", "так", "как", "капец", "жесть", "круто", "класс", "ааа",
    }
)  # fmt: skip


def _unstretch(token: str) -> str:
    if not _ELONGATED.search(token):
        return token
    one = _ELONGATED.sub(r"\1", token)
    low = one.lower().strip(".,!?…")
    if low in CHAT_WORDS or _match_en(low) or _match_ru(low):
        return one
    return _ELONGATED.sub(r"\1\1", token)


def squash_chat(text: str) -> str:
    """Undo chat spelling: stretched letters and shouting.

    A run of three or more of the same letter becomes one letter when that makes a known
    word (an emotion word or one of :data:`CHAT_WORDS`: "haaaappy" is "happy", "soooo" is
    "so"), else two ("goooood" is "good"). A message whose cased letters are at least 70 %
    capitals (at least four of them) is lower-cased ("I AM SO ANGRY"). Emoticons ("XD",
    ":D") are kept as they are.

    Examples
    --------
    >>> squash_chat("sooooo haaaappy today!!!")
    'so happy today!!!'
    >>> squash_chat("I AM SO ANGRY :D")
    'i am so angry :D'
    >>> squash_chat("мне оооочень грустно")
    'мне очень грустно'
    """
    tokens = text.split(" ")
    cased = [c for t in tokens if t.strip(".,!?") not in EMOTICON_LABELS for c in t if c.isalpha()]
    upper = sum(c.isupper() for c in cased)
    shout = len(cased) >= 4 and upper >= 0.7 * len([c for c in cased if c.lower() != c.upper()])
    out = []
    for tok in tokens:
        if tok.strip(".,!?") in EMOTICON_LABELS:
            out.append(tok)
            continue
        out.append(_unstretch(tok.lower() if shout else tok))
    return " ".join(out)


def normalize(text: str) -> str:
    """What the learned parts read: chat spelling undone, negations rewritten, emoji as words.

    See :func:`squash_chat`, :func:`rewrite_negations` and :func:`emoji_to_words`.
    """
    return emoji_to_words(rewrite_negations(squash_chat(text)))


def cue_features(text: str) -> np.ndarray:
    """Counts of emotion cues, shape (21,): words per label, emoji per label, short-message words.

    Negated words move: a negated happiness word counts for sadness ("not happy at all"),
    a negated negative word counts for neutral ("not scared"). Counts are squashed with
    ``log1p`` so three "😡" weigh more than one, but not three times as much. The third
    block repeats the word counts times ``min(1, 6 / tokens)``: one emotion word in a
    six-word message says more than one in a long comment.
    """
    text = squash_chat(text)
    x = np.zeros(CUE_DIM, dtype=np.float32)
    for lab, negated in word_hits(text):
        if negated:
            lab = "sadness" if lab == "happiness" else "neutral"
        x[LABELS.index(lab)] += 1.0
    for lab in _emoji_hits(text):
        x[len(LABELS) + LABELS.index(lab)] += 1.0
    x = np.log1p(x)
    shortness = min(1.0, 6.0 / max(1, len(text.split())))
    x[2 * len(LABELS) :] = x[: len(LABELS)] * shortness
    return x


def named_labels(text: str) -> set[str]:
    """Labels the message names with a non-negated emotion word or an emoji."""
    text = squash_chat(text)
    named = {lab for lab, negated in word_hits(text) if not negated}
    return named | set(_emoji_hits(text))


def _strong(token: str) -> str | None:
    if _is_cyrillic(token):
        token = token.replace("ё", "е")
        for label, stems in STRONG_RU.items():
            for stem in stems:
                if token == stem or (len(stem) >= 4 and token.startswith(stem)):
                    return label
        return None
    for label, words in STRONG_EN.items():
        if token in words:
            return label
    return None


def explicit_label(text: str) -> str | None:
    """The label a short message names outright, or None.

    It applies when the message has at most :data:`EXPLICIT_MAX_WORDS` words and its
    non-negated strong emotion words (:data:`STRONG_EN`, :data:`STRONG_RU`) all name one
    label, with no other non-negated emotion word or emoji of another label ("happy and sad"
    names two). "Ужасно" (awful) is not fear; "в ужасе" (horrified) is.

    Examples
    --------
    >>> explicit_label("I am furious")
    'anger'
    >>> explicit_label("not happy at all") is None
    True
    >>> explicit_label("happy and sad") is None
    True
    """
    text = squash_chat(text)
    if len(text.split()) > EXPLICIT_MAX_WORDS:
        return None
    strong, other = set(), set()
    for start, end, lab, negated, _ in _hits(text):
        if negated:
            continue
        tok = text[start:end].lower()
        if _strong(tok.split()[0]) == lab:
            strong.add(lab)
        else:
            other.add(lab)
    other |= set(_emoji_hits(text))
    if len(strong) == 1 and not (other - strong):
        return strong.pop()
    return None


def cue_matrix(texts: list[str]) -> np.ndarray:
    """Stack :func:`cue_features` for each text, shape (n, 14)."""
    if not texts:
        return np.zeros((0, CUE_DIM), dtype=np.float32)
    return np.stack([cue_features(t) for t in texts])
