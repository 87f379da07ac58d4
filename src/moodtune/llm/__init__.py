"""Optional LLM help over any OpenAI-compatible chat endpoint (``pip install 'moodtune[llm]'``).

Two uses, each with a deterministic fallback so that moodtune works the same without an LLM:

* :func:`propose_targets`: music feature targets for the recommender from the fused emotion,
  the strategy and the transcript (fallback: the built-in mapping).
* :func:`describe_with_llm`: a track description from its features and emotion curve
  (fallback: :func:`moodtune.music.describe.describe_arc`).

Configured by ``MOODTUNE_LLM_URL``, ``MOODTUNE_LLM_MODEL``, ``MOODTUNE_LLM_KEY`` and
``MOODTUNE_LLM_TIMEOUT`` (:meth:`LLMConfig.from_env`); see docs/llm.md. Importing this
package does not import the ``openai`` SDK.
"""

from __future__ import annotations

from moodtune.llm.client import LLMClient, LLMConfig, LLMError, extract_json
from moodtune.llm.describe import TrackDescription, describe_with_llm
from moodtune.llm.proposal import TARGETS_SCHEMA, TargetProposal, propose_targets

__all__ = [
    "TARGETS_SCHEMA",
    "LLMClient",
    "LLMConfig",
    "LLMError",
    "TargetProposal",
    "TrackDescription",
    "describe_with_llm",
    "extract_json",
    "propose_targets",
]
