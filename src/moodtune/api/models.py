"""Request models (pydantic) and the OpenAPI documents of the bodies routes parse themselves."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path as FastApiPath
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

#: A track of the embedded default catalog ("Pangarap"), the schema's example id.
EXAMPLE_TRACK_ID = "0017A6SJgTbfQVU2EtsPNo"
#: A catalog track id in a path.
TrackId = Annotated[str, FastApiPath(min_length=1, max_length=200, examples=[EXAMPLE_TRACK_ID])]


def _no_bool(value: Any) -> Any:
    """Refuse JSON ``true``/``false`` where a number is meant (``n: true`` is not 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    return value


#: An integer that JSON booleans do not pass for.
Int = Annotated[int, BeforeValidator(_no_bool)]
#: A finite number that JSON booleans do not pass for.
Number = Annotated[float, BeforeValidator(_no_bool), Field(allow_inf_nan=False)]
#: A probability: a finite number in [0, 1].
Probability = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=1, allow_inf_nan=False)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["auto", "ru", "en"] = Field("auto", description="Language of the voice.")
    user: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description=(
            "Your listener id, as POST /v1/session gave it (optional: the credential already "
            "says who you are; naming another id is refused)."
        ),
    )


class EmotionRequest(_Options):
    """JSON body of ``POST /v1/emotion`` (or the form fields beside an ``audio`` file)."""

    text: str | None = Field(
        None,
        description="A typed message (ru or en), up to 5000 chars.",
        examples=["I feel sad and lonely today"],
    )


class GivenEmotion(BaseModel):
    """An emotion the client already has: a distribution over the 7 labels, or a point."""

    model_config = ConfigDict(extra="forbid")

    probabilities: dict[str, Probability] | None = Field(
        None,
        max_length=7,
        description=(
            "{label: p} over anger, disgust, fear, happiness, neutral, sadness, surprise (as "
            "`emotion.probabilities` of an earlier reply; each in [0, 1], missing labels "
            "count as 0, at least one above 0)."
        ),
        examples=[{"sadness": 0.7, "neutral": 0.3}],
    )
    valence: Number | None = Field(None, ge=-1, le=1, description="Circumplex valence.")
    arousal: Number | None = Field(None, ge=-1, le=1, description="Circumplex arousal.")


class RecommendRequest(EmotionRequest):
    """JSON body of ``POST /v1/recommend`` (or the form fields beside an ``audio`` file).

    Give one of ``text``, an ``audio`` upload, or ``emotion`` (a distribution or a
    valence/arousal point you already have, e.g. to refresh a playlist after feedback
    without sending the voice message again).
    """

    emotion: GivenEmotion | None = None

    strategy: Literal["match", "uplift", "calm", "energize"] = "match"
    n: Int = Field(10, ge=1, le=100, description="Playlist length.")
    seed: Int | None = Field(None, ge=0, le=2**32 - 1, description="Seed (reproducible).")
    year_min: Int | None = Field(None, ge=1, le=9999)
    year_max: Int | None = Field(None, ge=1, le=9999)
    genres: list[str] | None = Field(None, max_length=50, description="Allowed genres.")
    explicit: bool = Field(True, description="False leaves out explicit tracks.")
    max_duration_s: Number | None = Field(None, gt=0, le=36_000)
    min_duration_s: float = Field(
        60.0, ge=0, le=36_000, description="Shortest track in seconds (0 allows jingles)."
    )
    current: list[str] | None = Field(
        None,
        max_length=100,
        description=(
            "Revise this playlist (track ids, in order) after feedback instead of making a new "
            "one: skipped tracks are replaced in place, every other track stays. Needs `emotion`."
        ),
    )
    llm: bool | None = Field(
        None,
        description=(
            "Ask the server's LLM (MOODTUNE_LLM_URL) for the music targets; default: when the "
            "server has one. The reply's `targets.source` says which targets were used."
        ),
    )


class FeedbackRequest(BaseModel):
    """Body of ``POST /v1/feedback``."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Your listener id (optional; must be the credential's own).",
    )
    track_id: str = Field(..., min_length=1, max_length=200, examples=[EXAMPLE_TRACK_ID])
    kind: Literal["like", "skip"]


class JourneyRequest(BaseModel):
    """Body of ``POST /v1/journey``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: str = Field(
        ...,
        alias="from",
        min_length=1,
        max_length=200,
        description="An emotion (sad, calm, ...), a 'valence,arousal' point or a track id.",
    )
    end: str = Field(..., alias="to", min_length=1, max_length=200, description="As `from`.")
    n: int = Field(12, ge=2, le=100, description="Steps, ends included.")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Seed (reproducible).")
    user: str | None = Field(None, min_length=1, max_length=200, description="User id.")
    min_duration_s: float = Field(60.0, ge=0, le=36_000)


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined.

    An ``openapi_extra`` schema lands inside the OpenAPI document, where a
    ``#/$defs/...`` reference would point at the document's root and not resolve.
    """
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = dict(defs[ref.removeprefix("#/$defs/")])
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return walk(target | rest)
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    out: dict[str, Any] = walk(schema)
    return out


def json_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads a JSON ``model`` body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(model)}},
        }
    }


def form_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The multipart form of ``model``: its fields (not text/emotion) and an ``audio`` file."""
    schema = inline_schema(model)
    props = {k: v for k, v in schema["properties"].items() if k not in ("text", "emotion")}
    props["audio"] = {"type": "string", "format": "binary", "description": "A voice message."}
    return {"type": "object", "properties": props, "required": ["audio"]}


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route that takes ``model`` as JSON or as a multipart form."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline_schema(model)},
                "multipart/form-data": {"schema": form_schema(model)},
            },
        }
    }


UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"audio": {"type": "string", "format": "binary"}},
                    "required": ["audio"],
                }
            }
        },
    }
}
