"""Language models behind one interface (`base.BaseLLM`); `choice.choose_llm` picks one.

Modules: `openai_llm` (AsyncOpenAI, any OpenAI-compatible server), `offline_router`
(a command grammar, no LLM), `scripted` (deterministic, for tests and benchmarks).
"""
