"""Every tool's exact schema is pinned: a change to what the model sees is a deliberate one.

To accept an intended change, regenerate the snapshot:

    python -m tests.core.agents.test_schemas
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.agents.registry import agent_map, all_agents

SNAPSHOT = Path(__file__).parent / "snapshots" / "tool_schemas.json"

EXPECTED_NAMES = [
    "upload", "index", "search", "transcript", "summarize", "clip", "compile", "videos", "find_videos",
    "frame", "stream_video", "scene_index", "visual_search", "subtitles", "dub", "generate_image",
    "generate_voice", "generate_music", "generate_video",
]


def current_specs() -> dict[str, Any]:
    return {spec.name: spec.model_dump() for spec in (agent.tool_spec() for agent in all_agents())}


def _property_names(schema: Any) -> list[str]:
    """Every property name anywhere in a JSON schema (nested models included)."""
    names: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                names += list(value)
            names += _property_names(value)
    elif isinstance(schema, list):
        for item in schema:
            names += _property_names(item)
    return names


def test_the_registry_offers_every_agent_once_in_order() -> None:
    assert [agent.name for agent in all_agents()] == EXPECTED_NAMES
    assert list(agent_map()) == EXPECTED_NAMES


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_tool_schema_matches_the_snapshot(name: str) -> None:
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert current_specs()[name] == expected[name]


def test_snapshot_has_no_stale_tools() -> None:
    assert sorted(json.loads(SNAPSHOT.read_text(encoding="utf-8"))) == sorted(EXPECTED_NAMES)


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_no_parameter_can_name_a_collection_or_channel(name: str) -> None:
    parameters = current_specs()[name]["parameters"]
    assert "collection" not in json.dumps(parameters).lower()
    for prop in _property_names(parameters):
        assert "collection" not in prop.lower() and "channel" not in prop.lower()


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_parameter_is_described_for_the_model(name: str) -> None:
    spec = current_specs()[name]
    assert len(spec["description"]) > 40
    schema = spec["parameters"]
    models = [schema, *schema.get("$defs", {}).values()]
    for model in models:
        for prop, body in model.get("properties", {}).items():
            assert body.get("description"), f"{name}.{prop} has no description"


if __name__ == "__main__":
    SNAPSHOT.write_text(json.dumps(current_specs(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
