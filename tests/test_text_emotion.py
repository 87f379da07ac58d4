from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from moodtune.errors import InputTooLargeError, ModelError, ParameterError
from moodtune.text import available_backends, clean_text, get_backend
from moodtune.text.head import MLPHead
from moodtune.text.lang import detect_language
from moodtune.types import LABELS

DATA = Path(__file__).parent / "data" / "text_emotion"
MESSAGES = Path(__file__).parent / "data" / "short_messages.csv"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Мне очень грустно и одиноко", "ru"),
        ("I feel sad and lonely", "en"),
        ("Сегодня OK, но грустно", "ru"),
        ("😀 123 !!!", "unknown"),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_clean_text_collapses_whitespace():
    assert clean_text("  I   feel\n\tfine ") == "I feel fine"


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_clean_text_refuses_empty(bad):
    with pytest.raises(ParameterError, match="empty"):
        clean_text(bad)


def test_clean_text_refuses_too_long():
    with pytest.raises(InputTooLargeError, match="over the limit of 10"):
        clean_text("x" * 11, max_chars=10)


def test_unknown_backend_lists_available():
    with pytest.raises(ParameterError, match="available: .*use_ngram"):
        get_backend("nope")
    assert "use_ngram" in available_backends()
    assert "e5" not in available_backends()  # an alias, not a module


def test_former_name_e5_is_an_alias(monkeypatch):
    backend = get_backend("use_ngram")
    assert backend.name == "use_ngram"
    assert get_backend("e5") is backend
    monkeypatch.setenv("MOODTUNE_TEXT_BACKEND", "e5")
    assert get_backend() is backend
    monkeypatch.setenv("MOODTUNE_TEXT_BACKEND", "nope")
    with pytest.raises(ParameterError, match="'nope'.* is unknown"):
        get_backend()


def test_head_with_an_e5_part_is_refused():
    from moodtune.text.backends.use_ngram import StackedTextEmotion, default_head_path

    with np.load(default_head_path(), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    StackedTextEmotion.from_arrays(arrays)  # the shipped head loads
    arrays["parts"] = np.array(["e5", "use", "lex"])
    with pytest.raises(ModelError, match="e5 part"):
        StackedTextEmotion.from_arrays(arrays)


def _linear_head(d: int = 4) -> dict[str, Any]:
    W2 = np.zeros((d, 7), dtype=np.float32)
    for i in range(d):
        W2[i, i] = 5.0
    return {
        "labels": np.array(LABELS),
        "mean": np.zeros(d, np.float32),
        "scale": np.ones(d, np.float32),
        "W2": W2,
        "b2": np.zeros(7, np.float32),
        "temperature": np.float32(1.0),
    }


def test_head_known_answer_and_roundtrip(tmp_path):
    arrays = _linear_head()
    path = tmp_path / "head.npz"
    np.savez(path, **arrays)
    head = MLPHead.load(path)
    probs = head.predict_proba(np.eye(4, dtype=np.float32))
    assert probs.shape == (4, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    assert list(probs.argmax(axis=1)) == [0, 1, 2, 3]


def test_head_temperature_flattens():
    arrays = _linear_head()
    sharp = MLPHead(arrays).predict_proba(np.eye(4)[:1])
    arrays["temperature"] = np.float32(10.0)
    flat = MLPHead(arrays).predict_proba(np.eye(4)[:1])
    assert flat.max() < sharp.max()


def test_head_rejects_wrong_labels(tmp_path):
    arrays = _linear_head()
    arrays["labels"] = np.array(list(reversed(LABELS)))
    with pytest.raises(ModelError, match="labels"):
        MLPHead(arrays)


def test_head_missing_file_is_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read"):
        MLPHead.load(tmp_path / "nope.npz")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I am so happy today, everything is wonderful!", "happiness"),
        ("I feel so sad and lonely, I miss her terribly.", "sadness"),
        ("I am furious, this is outrageous and I hate it!", "anger"),
        ("I am terrified, something awful is going to happen.", "fear"),
        ("Мне очень грустно и одиноко.", "sadness"),
        ("Я так счастлива, сегодня прекрасный день!", "happiness"),
        ("Я в бешенстве, это возмутительно!", "anger"),
        ("Мне страшно, я боюсь, что случится беда.", "fear"),
    ],
)
def test_shipped_head_classifies_clear_sentences(text, label):
    est = get_backend("use_ngram").predict(text)
    assert est.label == label, est.probability_dict()
    assert 0.0 <= est.confidence <= 1.0
    assert est.source == "text"


@pytest.mark.slow
def test_shipped_head_valence_order():
    backend = get_backend("use_ngram")
    happy, sad = backend.predict_batch(["What a wonderful, joyful day!", "I am miserable and sad."])
    assert happy.valence > 0.2 > -0.2 > sad.valence


@pytest.mark.slow
def test_training_pipeline_end_to_end(tmp_path):
    from moodtune.text.backends.use_ngram import StackedTextEmotion
    from moodtune.text.cues import CUE_DIM
    from moodtune.train.text_emotion import TextHeadConfig, train_text_emotion

    report = train_text_emotion(
        DATA,
        tmp_path,
        cache_dir=tmp_path / "cache",
        config=TextHeadConfig(hidden=16, max_iter=30, lex_min_df=1),
        messages=MESSAGES,
    )
    head = StackedTextEmotion.load(tmp_path / "text_emotion_head.npz")
    assert set(head.parts) == {"use", "lex"}
    assert head.stack_W.shape == (2 * 7 + CUE_DIM, 7)
    probs = head.predict_proba(["I am furious", "Мне грустно"])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    msgs = report["short_messages"]
    assert msgs["all"]["n"] >= 300
    assert set(msgs["languages"]) == {"en", "ru"}
    assert (tmp_path / "text_emotion_short_messages_confusion.png").stat().st_size > 10_000
    assert set(report["datasets"]) == {
        "cedr",
        "goemotions",
        "ru_go_emotions",
        "ru_izard_emotions",
        "dair_emotion",
    }
    for metrics in report["datasets"].values():  # near-copies: far above chance (1/7) too
        assert metrics["n"] == 28 and metrics["macro_f1"] > 0.5, metrics
    # the held-out fixture sentences are near-copies of the training ones: far above chance
    assert report["languages"]["en"]["accuracy"] > 0.5
    assert (tmp_path / "text_emotion_confusion.png").stat().st_size > 10_000
    assert (tmp_path / "text_emotion_training.png").stat().st_size > 5_000
    assert list((tmp_path / "cache").glob("use-*.npy"))


# -- cues: emoji, explicit words, negation ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("😡😡", None, "angry angry"),
        ("ну спасибо 🙄", "ru", "ну спасибо злость"),
        ("sad :(", None, "sad sad"),
        ("no emoji here", None, "no emoji here"),
        ("👌", None, "👌"),
        ("☺️☺️", None, "happy happy"),  # U+FE0F variation selectors leave no stray token
    ],
)
def test_emoji_to_words(text, language, expected):
    from moodtune.text.cues import emoji_to_words

    assert emoji_to_words(text, language=language) == expected


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        ("I am furious", [("anger", False)]),
        ("not happy at all", [("happiness", True)]),
        ("I'm not annoyed, I'm LIVID", [("anger", True), ("anger", False)]),
        ("I couldn't be happier", [("happiness", False)]),
        ("Я в бешенстве", [("anger", False)]),
        ("мне не грустно, просто скучно", [("sadness", True)]),
        ("Мне страшно", [("fear", False)]),
        ("see you at 5", []),
    ],
)
def test_word_hits_with_negation(text, hits):
    from moodtune.text.cues import word_hits

    assert word_hits(text) == hits


def test_cue_features_move_negated_words():
    from moodtune.text.cues import CUE_DIM, cue_features, cue_matrix

    x = cue_features("not happy at all")
    assert x.shape == (CUE_DIM,)
    assert x[LABELS.index("sadness")] > 0 and x[LABELS.index("happiness")] == 0
    scared = cue_features("I'm not scared")
    assert scared[LABELS.index("neutral")] > 0 and scared[LABELS.index("fear")] == 0
    three = cue_features("😡😡😡")[7 + LABELS.index("anger")]
    one = cue_features("😡")[7 + LABELS.index("anger")]
    assert three > one > 0
    assert cue_matrix([]).shape == (0, CUE_DIM)


# -- mixed feelings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I am furious", "anger"),
        ("Я в бешенстве", "anger"),
        ("мне грустно", "sadness"),
        ("not happy at all", None),
        ("happy and sad", None),
        ("I'm not annoyed, I'm LIVID", "anger"),
        ("I am furious " + "and then some more words here", None),
    ],
)
def test_explicit_label(text, label):
    from moodtune.text.cues import explicit_label

    assert explicit_label(text) == label


def test_explicit_floor_lifts_named_label_and_keeps_sum():
    from moodtune.text.backends.use_ngram import StackedTextEmotion
    from moodtune.text.cues import CUE_DIM
    from moodtune.text.head import MLPHead

    head = MLPHead(_linear_head(7) | {"mean": np.zeros(512), "scale": np.ones(512)})
    model = StackedTextEmotion(
        {"use": head},
        stack_W=np.zeros((7 + CUE_DIM, 7), np.float32),
        explicit_floor=0.65,
    )
    probs = model.apply_explicit(["I am furious", "see you at 5"], np.full((2, 7), 1 / 7))
    assert probs[0, LABELS.index("anger")] == pytest.approx(0.65)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(probs[1], 1 / 7)


def test_mixed_labels_only_when_close():
    from moodtune.text.backends.use_ngram import mixed_labels

    p = np.zeros(7)
    p[LABELS.index("happiness")], p[LABELS.index("sadness")], p[LABELS.index("neutral")] = (
        0.45,
        0.40,
        0.15,
    )
    assert mixed_labels(p, ratio=0.5, floor=0.2) == ("happiness", "sadness")
    p2 = np.zeros(7)
    p2[LABELS.index("happiness")], p2[LABELS.index("sadness")] = 0.85, 0.15
    assert mixed_labels(p2, ratio=0.5, floor=0.2) == ()


def test_mixed_estimate_point_lies_between_the_two_labels():
    from moodtune.types import CIRCUMPLEX, EmotionEstimate

    p = np.full(7, 0.02)
    p[LABELS.index("happiness")], p[LABELS.index("sadness")] = 0.45, 0.45
    est = EmotionEstimate.from_probabilities(p, mixed=("happiness", "sadness"))
    (v1, a1), (v2, a2) = CIRCUMPLEX["happiness"], CIRCUMPLEX["sadness"]
    # on the segment between the two points, halfway for equal probabilities
    assert est.valence == pytest.approx((v1 + v2) / 2, abs=1e-6)
    assert est.arousal == pytest.approx((a1 + a2) / 2, abs=1e-6)
    assert est.to_dict()["mixed"] == ["happiness", "sadness"]
    plain = EmotionEstimate.from_probabilities(p)
    assert "mixed" not in plain.to_dict()
    with pytest.raises(ParameterError, match="two different labels"):
        EmotionEstimate.from_probabilities(p, mixed=("happiness", "happiness"))


# -- the short-message evaluation set -----------------------------------------------------


def test_short_message_set_is_well_formed():
    from collections import Counter

    from moodtune.train.text_data import MESSAGE_STYLES, read_short_messages

    msgs = read_short_messages(MESSAGES)
    assert len(msgs) >= 300
    langs = Counter(msgs.languages)
    assert set(langs) == {"en", "ru"} and min(langs.values()) >= 0.45 * len(msgs)
    assert len(set(msgs.texts)) == len(msgs)
    assert set(msgs.labels) == set(range(7))
    styles = Counter(msgs.styles)
    for style in MESSAGE_STYLES:
        assert styles[style] >= 10, style
    assert sum(1 for x in msgs.labels2 if x >= 0) >= 20


def test_short_message_reader_refuses_bad_rows(tmp_path):
    from moodtune.train.text_data import read_short_messages

    bad = tmp_path / "m.csv"
    bad.write_text("id,language,text,label,label2,style\nx1,en,hi,joyish,,chat\n")
    with pytest.raises(ParameterError, match="x1"):
        read_short_messages(bad)
    with pytest.raises(ParameterError, match="not found"):
        read_short_messages(tmp_path / "none.csv")


def test_message_metrics_count_label2_hits():
    from moodtune.train.text_data import ShortMessages
    from moodtune.train.text_emotion import _message_metrics

    a, h, s = LABELS.index("anger"), LABELS.index("happiness"), LABELS.index("sadness")
    msgs = ShortMessages(
        ids=["1", "2", "3"],
        texts=["I am furious", "happy and sad", "meh"],
        labels=[a, h, s],
        labels2=[-1, s, -1],
        languages=["en", "en", "en"],
        styles=["explicit", "mixed", "chat"],
    )
    probs = np.zeros((3, 7))
    probs[0, a] = 0.7
    probs[1, s], probs[1, h] = 0.5, 0.4  # label2 wins: counts as right
    probs[2, h] = 0.9  # wrong
    probs = probs + 0.001
    m = _message_metrics(msgs, probs, [(), ("sadness", "happiness"), ()])
    assert m["all"]["accuracy"] == pytest.approx(2 / 3)
    assert m["mixed_rows"]["both_labels_right"] == 1.0
    assert m["explicit_anger"]["share_p_ge_0.6"] == 1.0
    assert [e["id"] for e in m["errors"]] == ["3"]


# -- the shipped head on short messages ---------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I am furious", "anger"),
        ("I'm terrified", "fear"),
        ("Я в бешенстве", "anger"),
        ("Мне страшно", "fear"),
        ("😡😡😡", "anger"),
        ("😭", "sadness"),
    ],
)
def test_shipped_head_explicit_words_win_clearly(text, label):
    est = get_backend("use_ngram").predict(text)
    assert est.label == label, est.probability_dict()
    assert est.probability_dict()[label] >= 0.6, est.probability_dict()


@pytest.mark.slow
def test_shipped_head_negation_is_not_happiness():
    est = get_backend("use_ngram").predict("not happy at all")
    assert est.label != "happiness", est.probability_dict()
    assert est.valence < 0


@pytest.mark.slow
def test_shipped_head_reports_mixed_feelings():
    est = get_backend("use_ngram").predict("I got the job but I have to move away… happy and sad")
    assert set(est.mixed) == {"happiness", "sadness"}, est.probability_dict()
    assert est.to_dict()["mixed"]


def test_bot_and_json_show_mixed_feelings():
    from moodtune.bot.playlist import format_emotion
    from moodtune.service import EmotionResult
    from moodtune.types import EmotionEstimate

    p = np.full(7, 0.02)
    p[LABELS.index("happiness")], p[LABELS.index("sadness")] = 0.45, 0.45
    est = EmotionEstimate.from_probabilities(p, mixed=("happiness", "sadness"))
    result = EmotionResult(emotion=est, language="en", parts={"text": est})
    assert "mixed feelings:" in format_emotion(result)
    assert "happiness" in format_emotion(result) and "sadness" in format_emotion(result)
    assert result.to_dict()["emotion"]["mixed"] == ["happiness", "sadness"]
    plain = EmotionResult(emotion=EmotionEstimate.from_probabilities(p), language="en")
    assert "mixed" not in format_emotion(plain)


@pytest.mark.slow
def test_cli_emotion_shows_mixed(capsys):
    from moodtune.cli import main

    text = "I got the job but I have to move away… happy and sad"
    assert main(["emotion", "--text", text]) == 0
    assert "mixed feelings" in capsys.readouterr().out
    assert main(["emotion", "--text", text, "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert set(data["emotion"]["mixed"]) == {"happiness", "sadness"}


def test_fused_estimate_carries_mixed_words_only_when_they_lead():
    from moodtune.text import carry_mixed
    from moodtune.types import CIRCUMPLEX, EmotionEstimate

    p = np.full(7, 0.02)
    p[LABELS.index("happiness")], p[LABELS.index("sadness")] = 0.45, 0.45
    text = EmotionEstimate.from_probabilities(p, mixed=("happiness", "sadness"))
    fused = EmotionEstimate.from_probabilities(p, source="fused", parts={"text": text})
    out = carry_mixed(fused, text)
    assert set(out.mixed) == {"happiness", "sadness"} and out.source == "fused"
    vh, vs = CIRCUMPLEX["happiness"][0], CIRCUMPLEX["sadness"][0]
    assert min(vh, vs) <= out.valence <= max(vh, vs)
    angry = np.full(7, 0.02)
    angry[LABELS.index("anger")] = 0.88
    other = EmotionEstimate.from_probabilities(angry, source="fused")
    assert carry_mixed(other, text) is other
    assert carry_mixed(fused, None) is fused


# -- chat-style training signal -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("Oh, GREAT... I'm done!!! 🙄", "oh great im done 🙄"),
        ("Я в ЯРОСТИ!!! Это что, шутка?", "я в ярости это что шутка"),
        ("don’t", "dont"),
        ("...", ""),
    ],
)
def test_plain_style(text, plain):
    from moodtune.train.text_data import plain_style

    assert plain_style(text) == plain


def test_plain_copies_only_for_short_rows_they_change():
    from moodtune.train.text_data import TextRows, with_plain_copies

    rows = TextRows(
        "x",
        "train",
        ["Not happy at all!", "already plain", "This one has far too many words to copy, sorry"],
        [4, 6, 0],
        ["en", "en", "en"],
    )
    out = with_plain_copies(rows, max_words=5)
    assert out.texts[:3] == rows.texts
    assert out.texts[3:] == ["sad at all"]  # normalised first: "not happy" means sad
    assert out.labels == [4, 6, 0, 4]
    assert len(out.languages) == 4


def test_short_rows_weigh_more_and_the_mean_weight_stays_one():
    from moodtune.train.text_data import TextRows
    from moodtune.train.text_emotion import _emphasise_short, _sample_weights

    rows = [TextRows("x", "train", ["a b", "a b c d e f"], [0, 1], ["en", "en"])]
    w = _sample_weights(rows)
    np.testing.assert_allclose(_emphasise_short(w, rows, max_words=3, factor=1.0), w)
    short = _emphasise_short(w, rows, max_words=3, factor=3.0)
    assert short[0] == pytest.approx(3 * short[1])
    assert short.mean() == pytest.approx(1.0)


@pytest.mark.slow
def test_translations_of_held_out_rows_leave_training(tmp_path):
    from moodtune.train.text_data import TextRows
    from moodtune.train.text_emotion import _drop_near_copies

    train = [
        TextRows(
            "ru_izard_emotions",
            "train",
            ["Я так счастлив, что ты пришёл сегодня", "Завтра обещают дождь и ветер"],
            [3, 6],
            ["ru", "ru"],
        )
    ]
    held = [
        TextRows("goemotions", "test", ["I am so happy that you came today"], [3], ["en"]),
        TextRows("ru_izard_emotions", "test", ["Завтра обещают дождь и ветер"], [6], ["ru"]),
    ]
    kept, dropped = _drop_near_copies(train, held, tmp_path, max_cos=0.75)
    # the translation of another corpus's test row goes; the same corpus's rows are its own
    assert kept[0].texts == ["Завтра обещают дождь и ветер"]
    assert dropped == {"ru_izard_emotions": 1}
    kept, dropped = _drop_near_copies(train, held, tmp_path, max_cos=1.01)
    assert kept[0].texts == train[0].texts and dropped == {"ru_izard_emotions": 0}


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_translation_pairs_need_a_margin_not_just_a_high_cosine():
    from moodtune.train.text_emotion import translation_pairs

    rng = np.random.default_rng(0)
    base = _unit(rng.normal(size=(20, 64)))
    hub = base[1]
    # u0 translates v0; u1..u4 and v1..v4 are generic texts ("thanks!") that all look alike
    # (cosine ~0.8 across the two sides: topic neighbours, not translations); u5 has no partner
    U = _unit(np.vstack([base[0], *(0.9 * hub + 0.44 * base[3 + i] for i in range(4)), base[2]]))
    V = _unit(
        np.vstack([base[0] + 0.2 * base[19], *(0.9 * hub + 0.44 * base[8 + i] for i in range(4))])
    )
    V = np.vstack([V, base[13:18]])
    cos = U @ V.T
    assert cos[1:5, 1:5].min() > 0.7  # a plain cosine threshold would drop the generic rows
    hit = translation_pairs(U, V, margin=1.2, min_cos=0.5)
    assert hit.tolist() == [True, False, False, False, False, False]
    # the margin, not the cosine floor, keeps them in: without it, mutual neighbours pair up
    assert translation_pairs(U, V, margin=0.0, min_cos=0.5)[1:5].any()
    # chunking gives the same answer
    assert translation_pairs(U, V, margin=1.2, min_cos=0.5, chunk=1).tolist() == hit.tolist()
    # the pair must be mutual: a second, closer copy of v0 in U takes v0 from u0
    U2 = np.vstack([U, _unit((base[0] + 0.1 * base[19])[None])])
    assert translation_pairs(U2, V, margin=1.2, min_cos=0.5).tolist() == [False] * 6 + [True]
    assert not translation_pairs(U[:0], V, margin=1.2).any()


@pytest.mark.slow
def test_translation_pairs_find_a_translation_among_real_sentences(tmp_path):
    from moodtune.train.text_data import TextRows
    from moodtune.train.text_emotion import _drop_translations

    train = [
        TextRows(
            "ru_izard_emotions",
            "train",
            [
                "Нет ответа через неделю? Это уже повод для беспокойства",
                "Завтра обещают дождь и сильный ветер",
            ],
            [2, 6],
            ["ru", "ru"],
        )
    ]
    held = [
        TextRows(
            "goemotions",
            "test",
            [
                "No response after a week? That's something to worry about.",
                "Thanks a lot!",
                "Thank you so much!",
                "Thank you!!",
                "Thanks!",
                "My cat knocked the plant over again",
            ],
            [2, 3, 3, 3, 3, 6],
            ["en"] * 6,
        )
    ]
    kept, dropped = _drop_translations(train, held, tmp_path, margin=1.2, min_cos=0.5)
    # the translation of another corpus's test row goes, the unrelated row stays
    assert kept[0].texts == ["Завтра обещают дождь и сильный ветер"]
    assert dropped == {"ru_izard_emotions": 1}


@pytest.mark.slow
def test_training_refuses_a_pair_filter_that_empties_a_corpus(tmp_path):
    from moodtune.train.text_emotion import TextHeadConfig, train_text_emotion

    # the fixture's corpora copy each other ("Я в ярости" is ru_izard train and, with "! !",
    # ru_go_emotions test), so every training row pairs with a held-out row of another corpus
    cfg = TextHeadConfig(hidden=16, max_iter=30, lex_min_df=1, pair_margin=1.2)
    with pytest.raises(ParameterError, match="leaves no training rows in goemotions, cedr"):
        train_text_emotion(DATA, tmp_path, cache_dir=tmp_path / "cache", config=cfg)


@pytest.mark.parametrize(
    ("text", "squashed"),
    [
        ("sooooo haaaappy today!!!", "so happy today!!!"),
        ("goooood morning", "good morning"),  # "god" is no known word: two letters stay
        ("I AM SO ANGRY RIGHT NOW", "i am so angry right now"),
        ("I AM FURIOUS XD", "i am furious XD"),  # emoticons keep their case
        ("I love NYC", "I love NYC"),  # an acronym is not shouting
        ("OMG", "OMG"),  # too few letters to call it shouting
        ("мне оооочень грустно", "мне очень грустно"),
        ("МЕНЯ ВСЁ БЕСИТ", "меня всё бесит"),
        ("happy", "happy"),
    ],
)
def test_squash_chat(text, squashed):
    from moodtune.text.cues import squash_chat

    assert squash_chat(text) == squashed


def test_chat_spelling_reaches_the_cues_and_the_parts():
    from moodtune.text.cues import cue_features, explicit_label, named_labels, normalize

    assert normalize("I AM NOT HAAAAPPY") == normalize("i am not happy") == "i am sad"
    assert explicit_label("I AM FUUUURIOUS") == "anger"
    assert named_labels("sooo saaaad") == {"sadness"}
    np.testing.assert_array_equal(cue_features("soooo scaaaared"), cue_features("so scared"))
