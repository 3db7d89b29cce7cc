"""Small test helpers shared by the VideoDB backend tests."""

from __future__ import annotations


class ProgressLog:
    """A ProgressFn that remembers what it was told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float | None]] = []

    def __call__(self, message: str, fraction: float | None = None) -> None:
        self.events.append((message, fraction))

    @property
    def fractions(self) -> list[float]:
        return [f for _, f in self.events if f is not None]

    @property
    def messages(self) -> list[str]:
        return [m for m, _ in self.events]


TRANSCRIPT = [
    (0.0, 4.0, "Welcome to the launch review."),
    (4.0, 9.0, "The rocket launch went perfectly."),
    (9.0, 15.0, "Next quarter we focus on the budget."),
]
