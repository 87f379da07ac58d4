"""Write the tiny text-emotion corpus used by the training test (tests/data/text_emotion).

Hand-written sentences, a few per label, in the layout of the real corpora; they only
exercise the training pipeline end to end, they measure nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path

EN = {
    "angry": [
        "I am furious with you",
        "This makes me so angry",
        "I hate this, it is outrageous",
        "Stop lying to me, I am livid",
    ],
    "disgust": [
        "That is disgusting",
        "Gross, it makes me sick",
        "What a revolting smell",
        "Eww, that is nasty and vile",
    ],
    "fearful": [
        "I am scared of the dark",
        "I am terrified of what comes next",
        "I am afraid something bad will happen",
        "This is frightening",
    ],
    "happy": [
        "I am so happy today",
        "What a wonderful day, I love it",
        "This is great news",
        "I feel joyful and glad",
    ],
    "sad": [
        "I feel so sad and lonely",
        "I miss her so much, I cry every day",
        "Everything is hopeless",
        "I am heartbroken",
    ],
    "surprised": [
        "Wow, I did not expect that",
        "What? Really? That is surprising",
        "I am astonished",
        "No way, that is unbelievable",
    ],
    "neutral": [
        "The meeting is at ten",
        "The train leaves from platform two",
        "Please send the file",
        "It is a table made of wood",
    ],
}
RU = {
    "angry": ["Я в ярости", "Меня это бесит", "Как же я зол на тебя", "Это возмутительно"],
    "disgust": ["Это отвратительно", "Меня тошнит от этого", "Какая мерзость", "Фу, гадость"],
    "fearful": ["Мне страшно", "Я боюсь темноты", "Я в ужасе от этого", "Мне очень тревожно"],
    "happy": ["Я так счастлив", "Какой чудесный день", "Я очень рад", "Ура, отличные новости"],
    "sad": [
        "Мне очень грустно и одиноко",
        "Я скучаю и плачу",
        "Всё безнадёжно",
        "Мне так тоскливо",
    ],
    "surprised": ["Ого, вот это да", "Не может быть!", "Я удивлён", "Неожиданно!"],
    "neutral": [
        "Встреча в десять",
        "Поезд уходит с второй платформы",
        "Пришли файл",
        "Это деревянный стол",
    ],
}
CORPORA = {
    "goemotions": EN,
    "dair_emotion": EN,
    "cedr": RU,
    "ru_go_emotions": RU,
    "ru_izard_emotions": RU,
}


def main() -> None:
    root = Path(__file__).resolve().parent.parent / "tests" / "data" / "text_emotion"
    for name, table in CORPORA.items():
        lang = "ru" if table is RU else "en"
        for split in ("train", "validation", "test"):
            path = root / name / f"{split}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["text", "labels", "label_ids", "labels_common", "language"])
                for label, texts in table.items():
                    for i, text in enumerate(texts):
                        suffix = {"train": "", "validation": " .", "test": " !"}[split]
                        w.writerow(
                            [f"{text}{suffix}" if i else text + suffix * 2, label, "", label, lang]
                        )
                w.writerow(["mixed feelings here", "joy;anger", "", "happy;angry", lang])


if __name__ == "__main__":
    main()
