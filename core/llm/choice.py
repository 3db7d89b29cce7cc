"""Which language model to use, from settings values the composition root passes in.

1. `OPENAI_API_KEY` → OpenAI, or any OpenAI-compatible server at `OPENAI_BASE_URL`
   (Ollama, vLLM, LM Studio…).
2. else `VIDEO_DB_API_KEY` → VideoDB's OpenAI-compatible proxy, as VideoDB's own
   Director does (video-db/Director `backend/director/llm/videodb_proxy.py`): the
   OpenAI client pointed at `VIDEO_DB_BASE_URL` itself, model `gpt-4o-2024-11-20`.
3. else None: the caller uses the offline command router.

A pure function: no environment reads, no network (core never imports bot/).
"""

from __future__ import annotations

import logging

from core.llm.base import BaseLLM
from core.llm.openai_llm import OpenAILLM, ToolMode

log = logging.getLogger(__name__)

VIDEODB_PROXY_MODEL = "gpt-4o-2024-11-20"


def choose_llm(
    *,
    openai_api_key: str | None,
    openai_base_url: str | None,
    openai_model: str,
    video_db_api_key: str | None,
    video_db_base_url: str,
    timeout_s: float,
    max_retries: int,
    tool_mode: ToolMode = "auto",
    video_db_model: str = VIDEODB_PROXY_MODEL,
) -> BaseLLM | None:
    """The LLM per the rules above, or None for the offline router."""
    if openai_api_key:
        base_url = openai_base_url.rstrip("/") if openai_base_url else None
        log.info("LLM: model %s at %s (tool mode %s)", openai_model, base_url or "OpenAI", tool_mode)
        return OpenAILLM(
            api_key=openai_api_key,
            model=openai_model,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            tool_mode=tool_mode,
        )
    if video_db_api_key:
        base_url = video_db_base_url.rstrip("/")
        log.info("LLM: model %s through the VideoDB proxy at %s", video_db_model, base_url)
        return OpenAILLM(
            api_key=video_db_api_key,
            model=video_db_model,
            base_url=base_url,
            timeout_s=timeout_s,
            max_retries=max_retries,
            tool_mode=tool_mode,
            label="videodb-proxy",
        )
    log.info("LLM: none configured; using the offline command router")
    return None
