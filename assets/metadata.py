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
