"""The verdict on one validated partition, and its Markdown form for the Dagster UI."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ExpectationOutcome:
    """How one expectation fared; `unexpected_count` is None when it could not be evaluated."""

    expectation: str
    column: str | None
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    sample: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QualityReport:
    """The verdict on one partition: every expectation's outcome, the dead-letter one last."""

    success: bool
    rows: int
    results: list[ExpectationOutcome]
    dead_letter_share: float
    elapsed_s: float
    partition_start: datetime | None = None
    partition_end: datetime | None = None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [outcome for outcome in self.results if not outcome.success]

    def to_markdown(self) -> str:
        """A verdict line, then one table row per expectation, for the Dagster UI."""
        window = ""
        if self.partition_start and self.partition_end:
            window = f" · [{self.partition_start:%Y-%m-%d %H:%M}, {self.partition_end:%Y-%m-%d %H:%M}) UTC"
        if self.success:
            verdict = "✅ **all expectations met**"
        else:
            names = ", ".join(f"*{outcome.expectation}*" for outcome in self.failures)
            verdict = f"❌ **{len(self.failures)} of {len(self.results)} expectations failed:** {names}"
        lines = [f"{verdict}  ", f"{self.rows:,} rows{window} · validated in {self.elapsed_s:.2f} s", ""]
        if not self.rows:
            lines += ["No rows in this partition: nothing to check but the dead-letter share.", ""]
        lines += ["| | expectation | column | unexpected | % | sample |",
                  "|---|---|---|---:|---:|---|"]
        lines += [_markdown_row(outcome) for outcome in self.results]
        return "\n".join(lines)


def _markdown_row(outcome: ExpectationOutcome) -> str:
    mark = "✅" if outcome.success else "❌"
    column = f"`{outcome.column}`" if outcome.column else ""
    count = "—" if outcome.unexpected_count is None else f"{outcome.unexpected_count:,}"
    percent = "—" if outcome.unexpected_percent is None else f"{outcome.unexpected_percent:.3g}%"
    if outcome.error:
        sample = f"error: {_cell(outcome.error)}"
    else:
        sample = ", ".join(f"`{_cell(value)}`" for value in outcome.sample)
    return f"| {mark} | {outcome.expectation} | {column} | {count} | {percent} | {sample} |"


def _cell(text: str, limit: int = 60) -> str:
    """Keep a value from breaking the table: one line, no pipes or backticks, bounded length."""
    text = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"
