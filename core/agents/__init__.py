"""Agents: the tools the reasoning engine offers the model, one module each.

Each agent has typed parameters (a pydantic model whose JSON schema is the tool
schema) and reaches videos only through `ctx.session.collection`.
"""
