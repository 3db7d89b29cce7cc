"""Tool schemas as small as they can be, still saying everything a model needs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from core.llm.base import ToolSpec
from core.llm.tool_schema import compact_schema


class Range(BaseModel):
    start: float = Field(ge=0, description="Start, in seconds.")
    end: float = Field(gt=0, description="End, in seconds.")


class Params(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=80, description="A title.")
    ranges: list[Range] | None = Field(default=None, min_length=1, description="Ranges.")
    mode: Literal["fast", "exact"] = Field(default="fast", description="How.")
    limit: int = Field(default=5, ge=1, le=20, description="Most results.")
    video: str = Field(description="Which video.")


def test_titles_nulls_refs_and_bounds_are_gone() -> None:
    assert compact_schema(Params.model_json_schema()) == {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "A title."},
            "ranges": {
                "type": "array",
                "description": "Ranges.",
                "items": {
                    "type": "object",
                    "properties": {"start": {"type": "number", "description": "Start, in seconds."},
                                   "end": {"type": "number", "description": "End, in seconds."}},
                    "required": ["start", "end"],
                },
            },
            "mode": {"type": "string", "description": "How.", "enum": ["fast", "exact"], "default": "fast"},
            "limit": {"type": "integer", "description": "Most results.", "default": 5},
            "video": {"type": "string", "description": "Which video."},
        },
        "required": ["video"],
    }


def test_a_model_without_fields_is_still_an_object() -> None:
    class Empty(BaseModel):
        pass

    assert compact_schema(Empty.model_json_schema()) == {"type": "object", "properties": {}}


def test_the_spec_still_validates_with_the_full_model() -> None:
    spec = ToolSpec.from_model("t", "A tool.", Params)
    assert spec.problem_with({"video": "v", "limit": 5}) is None
    assert spec.problem_with({"video": "v", "limit": 50}) == "limit: Input should be less than or equal to 20"
    assert spec.problem_with({}) == "video: Field required"
