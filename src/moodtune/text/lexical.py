"""Character n-gram part of the text emotion head (TF-IDF + multinomial logistic regression).

e5-small's sentence vectors miss much of what single words say about emotion,
especially in Russian morphology (CEDR macro-F1 0.63 with e5 alone vs 0.70 with
character n-grams alone, 0.71 together; see the model card). The vectoriser is
scikit-learn's, rebuilt from the stored vocabulary and idf so it transforms exactly as at
training time. Arrays (in the head's ``.npz``, prefix ``lex_``):

``lex_terms``
    shape (V,), unicode: the n-gram vocabulary
``lex_idf``
    shape (V,), float32
``lex_coef``, ``lex_intercept``
    shape (7, V) float16 and (7,): logistic-regression weights over :data:`LABELS`
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Vectoriser settings shared by training and inference.
VECTORIZER_OPTIONS: dict[str, Any] = {
    "analyzer": "char_wb",
    "ngram_range": (2, 5),
    "lowercase": True,
    "sublinear_tf": True,
}


def make_vectorizer(**options: Any) -> Any:
    """Return a fresh scikit-learn ``TfidfVectorizer`` with :data:`VECTORIZER_OPTIONS`."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**(VECTORIZER_OPTIONS | options))


class LexicalHead:
    """Character n-gram TF-IDF features and a linear softmax layer."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        terms = [str(t) for t in arrays["lex_terms"]]
        self.vectorizer = make_vectorizer(vocabulary={t: i for i, t in enumerate(terms)})
        self.vectorizer.idf_ = np.asarray(arrays["lex_idf"], dtype=np.float64)
        self.coef = np.asarray(arrays["lex_coef"], dtype=np.float32)
        self.intercept = np.asarray(arrays["lex_intercept"], dtype=np.float32)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Return shape (n, 7) logits."""
        X = self.vectorizer.transform(list(texts))
        return np.asarray(X @ self.coef.T + self.intercept)

    @staticmethod
    def to_arrays(
        vectorizer: Any, coef: np.ndarray, intercept: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Pack a fitted vectoriser and weights (columns in :data:`LABELS` order)."""
        terms = vectorizer.get_feature_names_out()
        return {
            "lex_terms": np.array([str(t) for t in terms]),
            "lex_idf": vectorizer.idf_.astype(np.float32),
            "lex_coef": coef.astype(np.float16),
            "lex_intercept": intercept.astype(np.float32),
        }
