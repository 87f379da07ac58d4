"""Text emotion backends; each module's name is its registry key.

The registry itself is :mod:`moodtune.text` (``get_backend``, ``available_backends``).
Every backend checks its batch with :func:`valid_texts`, so bad input is a
:class:`~moodtune.errors.ParameterError` whichever backend runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from moodtune.errors import ParameterError


def valid_texts(texts: Sequence[str]) -> list[str]:
    """Check a batch of texts: a list or tuple of strings (one bare string is refused).

    Raises
    ------
    ParameterError
        If ``texts`` is a string or not a list/tuple, or an item is not a string.
    """
    if isinstance(texts, str) or not isinstance(texts, list | tuple):
        raise ParameterError(
            f"texts must be a list of strings, got {type(texts).__name__}; use predict for one text"
        )
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ParameterError(f"texts[{i}] must be a string, got {type(text).__name__}")
    return list(texts)
