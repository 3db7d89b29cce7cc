"""Helpers shared by test folders (media generation and the like)."""
