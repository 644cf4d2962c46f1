"""Small helpers that turn results into Dagster UI metadata (markdown tables)."""
import dagster as dg


def markdown_table(rows: list[dict], columns: list[str]) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("_none_")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def counts_table(counts: dict, label: str) -> dg.MetadataValue:
    rows = [{label: k, "count": v} for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]
    return markdown_table(rows, [label, "count"])


def hour_table(by_hour: dict[str, int], label: str) -> dg.MetadataValue:
    """Hour keys (2026-11-23T10) in time order with a count each: what a replay or a drain touched."""
    return markdown_table([{"hour (UTC)": hour, label: f"{n:,}"} for hour, n in sorted(by_hour.items())],
                          ["hour (UTC)", label])


def llm_metadata(calls) -> dict:
    """Per-asset LLM totals, as numbers so the UI plots them across partitions."""
    totals = calls.totals()
    return {
        "llm_calls": totals["calls"],
        "llm_fallbacks": totals["fallbacks"],
        "llm_prompt_tokens": totals["prompt_tokens"],
        "llm_completion_tokens": totals["completion_tokens"],
        "llm_cost_usd": round(totals["cost_usd"], 6),
        "llm_latency_ms_p95": round(totals["latency_ms_p95"] or 0.0, 1),
        "llm_writers": dg.MetadataValue.json(totals["by_writer"]),
    }
