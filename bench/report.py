"""Measurement lines (ours, the baseline, the ratio) and the report that collects them."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Measure", "Report", "number"]


@dataclass
class Measure:
    """One line of the report: ours, the baseline, and baseline/ours (bigger is better for us)."""

    id: str
    label: str
    unit: str
    ours: float
    base: float
    base_lower_bound: bool = False  # the baseline hit its cap: its true value is larger
    ours_floor: float = 0.0  # below this, ours is reported as "<floor" and the ratio as ">="
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.base / max(self.ours, self.ours_floor, 1e-12)

    @property
    def ratio_is_bound(self) -> bool:
        return self.base_lower_bound or self.ours < self.ours_floor

    def ratio_text(self) -> str:
        return f"{'>=' if self.ratio_is_bound else ''}{self.ratio:.1f}x"

    def render(self) -> str:
        ours = number(self.ours, self.unit, below=self.ours_floor)
        base = number(self.base, self.unit, above=self.base_lower_bound)
        text = f"{self.id:<3} {self.label:<46} ours {ours:>11} | baseline {base:>13}"
        return text + f" | ratio {self.ratio_text()}"


def number(value: float, unit: str, *, below: float = 0.0, above: bool = False) -> str:
    """A value with its unit: "<below" under the floor, ">" before a lower bound."""
    if value < below:
        return f"<{below:g} {unit}"
    digits = 1 if abs(value) >= 100 else 2
    return f"{'>' if above else ''}{value:.{digits}f} {unit}"


@dataclass
class Report:
    measures: dict[str, Measure] = field(default_factory=dict)
    context: list[str] = field(default_factory=list)
    crashed: list[str] = field(default_factory=list)

    def add(self, measure: Measure) -> None:
        self.measures[measure.id] = measure
        print(measure.render(), flush=True)
        if measure.note:
            print(f"    {measure.note}", flush=True)

    def say(self, text: str) -> None:
        self.context.append(text)
        print(text, flush=True)
