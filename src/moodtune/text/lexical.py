"""N-gram part of the text emotion head (TF-IDF + multinomial logistic regression).

Sentence vectors miss much of what single words say about emotion, especially in
Russian morphology (CEDR test macro-F1 0.58 with USE + MLP alone vs 0.66 with n-grams
alone; see the model card). The vectoriser is
scikit-learn's, rebuilt from the stored vocabulary and idf so it transforms exactly as at
training time. Arrays (in the head's ``.npz``, prefix ``lex_``):

``lex_terms``
    shape (V,), unicode: the character n-gram vocabulary
``lex_idf``
    shape (V,), float32
``lex_word_terms``, ``lex_word_idf``
    optional, shape (W,): word uni- and bigrams (:data:`WORD_VECTORIZER_OPTIONS`)
``lex_coef``, ``lex_intercept``
    shape (7, V + W) float16 and (7,): logistic-regression weights over :data:`LABELS`
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


#: Word uni- and bigram settings (words of one letter count: "я", "i").
WORD_VECTORIZER_OPTIONS: dict[str, Any] = {
    "analyzer": "word",
    "ngram_range": (1, 2),
    "lowercase": True,
    "sublinear_tf": True,
    "token_pattern": r"(?u)\b\w+\b",
}


def make_vectorizer(**options: Any) -> Any:
    """Return a fresh scikit-learn ``TfidfVectorizer`` with :data:`VECTORIZER_OPTIONS`."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**(VECTORIZER_OPTIONS | options))


def make_word_vectorizer(**options: Any) -> Any:
    """Return a fresh ``TfidfVectorizer`` with :data:`WORD_VECTORIZER_OPTIONS`."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**(WORD_VECTORIZER_OPTIONS | options))


def _rebuild(factory: Any, terms: np.ndarray, idf: np.ndarray) -> Any:
    vec = factory(vocabulary={str(t): i for i, t in enumerate(terms)})
    vec.idf_ = np.asarray(idf, dtype=np.float64)
    return vec


class LexicalHead:
    """Character n-gram TF-IDF features and a linear softmax layer."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.vectorizer = _rebuild(make_vectorizer, arrays["lex_terms"], arrays["lex_idf"])
        self.word_vectorizer = (
            _rebuild(make_word_vectorizer, arrays["lex_word_terms"], arrays["lex_word_idf"])
            if "lex_word_terms" in arrays
            else None
        )
        self.coef = np.asarray(arrays["lex_coef"], dtype=np.float32)
        self.intercept = np.asarray(arrays["lex_intercept"], dtype=np.float32)

    def features(self, texts: Sequence[str]) -> Any:
        """Sparse TF-IDF features, shape (n, V + W)."""
        import scipy.sparse as sp

        X = self.vectorizer.transform(list(texts))
        if self.word_vectorizer is not None:
            X = sp.hstack([X, self.word_vectorizer.transform(list(texts))]).tocsr()
        return X

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Return shape (n, 7) logits."""
        return np.asarray(self.features(texts) @ self.coef.T + self.intercept)

    @staticmethod
    def to_arrays(
        vectorizer: Any,
        coef: np.ndarray,
        intercept: np.ndarray,
        word_vectorizer: Any | None = None,
    ) -> dict[str, np.ndarray]:
        """Pack fitted vectorisers and weights (columns in :data:`LABELS` order)."""
        out = {
            "lex_terms": np.array([str(t) for t in vectorizer.get_feature_names_out()]),
            "lex_idf": vectorizer.idf_.astype(np.float32),
            "lex_coef": coef.astype(np.float16),
            "lex_intercept": intercept.astype(np.float32),
        }
        if word_vectorizer is not None:
            terms = word_vectorizer.get_feature_names_out()
            out["lex_word_terms"] = np.array([str(t) for t in terms])
            out["lex_word_idf"] = word_vectorizer.idf_.astype(np.float32)
        return out
