"""The digest's small charts as PNG bytes: error rate and p99 of the top services over the day, each slow
trend against its limit, and grounded % and cost per digest over days. Every chart is 560×180 px."""
from __future__ import annotations

import base64
import io
import math
from datetime import date, datetime, timezone
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from matplotlib.dates import AutoDateLocator, DateFormatter
# The object-oriented API needs no pyplot and no backend switch, so importing this module changes no
# global matplotlib state for anyone else in the process.
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

WIDTH_PX, HEIGHT_PX, DPI = 560, 180, 100
TOP_SERVICES = 5
METRIC_LABELS = {"error_rate": "error rate", "p99_ms": "p99 (ms)", "requests": "requests"}
# Colour-blind-safe (Okabe–Ito), assigned by service rank so a service keeps its colour across charts.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Without this the PNG carries the matplotlib version, and equal charts would differ between installs.
PNG_METADATA = {"Software": None}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def service_chart(points_by_service: dict[str, list[dict]], metric: str, *, top: int = TOP_SERVICES,
                  timezone_name: str = "UTC") -> bytes:
    """One line per service of `metric` ("error_rate", "p99_ms" or "requests") by hour, for the `top`
    services with the most requests (the same services, in the same colours, whatever the metric)."""
    zone = _zone(timezone_name)
    figure, axes = _figure()
    drawn = 0
    for index, service in enumerate(top_services(points_by_service, top)):
        series = _series(((p.get("hour"), p.get(metric)) for p in points_by_service[service]), zone)
        if not series:
            continue
        hours, values = zip(*series)
        axes.plot(hours, values, color=PALETTE[index % len(PALETTE)], linewidth=1.4, marker="o",
                  markersize=2.5, label=_plain(service))
        drawn += 1
    if not drawn:
        return _no_data(figure, axes, METRIC_LABELS.get(metric, metric))
    if metric == "error_rate":
        axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    axes.set_ylim(bottom=0)
    _hour_axis(axes, zone)
    axes.set_title(f"{METRIC_LABELS.get(metric, _plain(metric))} by hour ({_plain(timezone_name)})",
                   fontsize=8, loc="left")
    axes.legend(fontsize=6, loc="upper left", frameon=False, ncols=min(drawn, 5))
    return _png(figure)


def trend_chart(trend: dict, *, timezone_name: str = "UTC") -> bytes:
    """A trend's series (`{"label", "points": [[iso_hour, value]], "limit"}`) with its limit dashed."""
    zone = _zone(timezone_name)
    figure, axes = _figure()
    label = _plain(str(trend.get("label") or trend.get("key") or "trend"))
    series = _series(((p[0], p[1]) for p in trend.get("points") or () if len(p) >= 2), zone)
    if not series:
        return _no_data(figure, axes, label)
    hours, values = zip(*series)
    axes.plot(hours, values, color=PALETTE[0], linewidth=1.4, marker="o", markersize=2.5, label=label)
    limit = _number(trend.get("limit"))
    if limit is not None:
        axes.axhline(limit, color=PALETTE[1], linestyle="--", linewidth=1.0, label=f"limit {limit:g}")
    _hour_axis(axes, zone)
    axes.set_title(label, fontsize=8, loc="left")
    axes.legend(fontsize=6, loc="upper left", frameon=False)
    return _png(figure)


def history_chart(days: Sequence[tuple[date | str, float | None, float | None]]) -> bytes:
    """Grounded % (bars, left axis) and LLM cost in USD (line, right axis) per digest over days
    (`(day, grounded ratio 0..1, cost)`; the day a date or ISO text, as read back from digest JSON)."""
    figure, axes = _figure()
    # Sorted by day alone: a tie would otherwise compare a None ratio with a number and fail.
    rows = sorted(((_day(d), _number(ratio), _number(cost)) for d, ratio, cost in days if _day(d)),
                  key=lambda row: row[0])
    if not any(ratio is not None or cost is not None for _, ratio, cost in rows):
        return _no_data(figure, axes, "grounded % and cost per digest")
    positions = range(len(rows))
    grounded = [(i, ratio * 100) for i, (_, ratio, _) in zip(positions, rows) if ratio is not None]
    if grounded:
        axes.bar([i for i, _ in grounded], [v for _, v in grounded], color=PALETTE[2], width=0.6,
                 label="grounded %")
    axes.set_ylim(0, 100)
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    costs = [(i, cost) for i, (_, _, cost) in zip(positions, rows) if cost is not None]
    cost_axes = axes.twinx()
    if costs:
        cost_axes.plot([i for i, _ in costs], [v for _, v in costs], color=PALETTE[1], marker="o",
                       markersize=3, linewidth=1.2, label="cost (USD)")
    cost_axes.set_ylim(bottom=0, top=max([v for _, v in costs] + [0.0001]) * 1.2)
    cost_axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:.4g}"))
    cost_axes.tick_params(labelsize=6)
    # Ten labels at most: a month of digests would otherwise print thirty overlapping dates.
    step = max(1, math.ceil(len(rows) / 10))
    axes.set_xticks(list(positions)[::step], [d.isoformat()[5:] for d, _, _ in rows][::step])
    axes.set_xlim(-0.6, len(rows) - 0.4)
    axes.set_title("grounded % and LLM cost per digest", fontsize=8, loc="left")
    handles = axes.get_legend_handles_labels()[0] + cost_axes.get_legend_handles_labels()[0]
    # Above the plot: inside it, the legend would cover the bars it explains.
    figure.legend(handles=handles, fontsize=6, loc="outside upper right", ncols=2, frameon=False)
    return _png(figure)


def digest_charts(digest: dict, *, top: int = TOP_SERVICES) -> dict[str, bytes]:
    """Every chart the digest's `charts` section asks for, by name: "error_rate", "p99_ms", and
    "trend:<key>" per slow trend (the names `render.to_html` places)."""
    data = digest.get("charts") or {}
    zone = digest.get("timezone") or "UTC"
    services = data.get("services") or {}
    charts = {metric: service_chart(services, metric, top=top, timezone_name=zone)
              for metric in ("error_rate", "p99_ms")}
    for trend in data.get("trends") or ():
        charts[f"trend:{trend.get('key')}"] = trend_chart(trend, timezone_name=zone)
    return charts


def data_uri(png: bytes) -> str:
    """The PNG as an inline `data:image/png;base64,` URI (refuses anything that is not a PNG)."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def top_services(points_by_service: dict[str, list[dict]], top: int = TOP_SERVICES) -> list[str]:
    """The `top` services by requests over the day (name breaks ties, so the order is stable)."""
    totals = {service: sum(_number(p.get("requests")) or 0 for p in points or ())
              for service, points in points_by_service.items()}
    return sorted(totals, key=lambda s: (-totals[s], s))[:max(top, 0)]


def _figure():
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.tick_params(labelsize=6)
    axes.grid(True, linewidth=0.3, alpha=0.5)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _no_data(figure: Figure, axes, title: str) -> bytes:
    """An empty series still gives a chart of the same size, saying so, rather than nothing."""
    axes.set_axis_off()
    axes.text(0.5, 0.5, f"{title}: no data", ha="center", va="center", fontsize=9, color="#666666",
              transform=axes.transAxes, parse_math=False)
    return _png(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # No bbox_inches="tight": it would crop to the content and change the pixel size chart by chart.
    figure.savefig(buffer, format="png", dpi=DPI, metadata=PNG_METADATA)
    return buffer.getvalue()


def _hour_axis(axes, zone) -> None:
    locator = AutoDateLocator(tz=zone, minticks=4, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=zone))


def _series(pairs: Iterable[tuple], zone) -> list[tuple[datetime, float]]:
    """(hour, value) pairs with a parseable hour and a finite value, sorted by hour."""
    series = []
    for hour, value in pairs:
        moment, number = _moment(hour), _number(value)
        if moment is not None and number is not None:
            series.append((moment.astimezone(zone), number))
    return sorted(series)


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _day(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _zone(name: str):
    return timezone.utc if name in ("", "UTC", None) else ZoneInfo(name)


def _plain(text: str) -> str:
    # Service names come from data: a "$" would switch matplotlib into mathtext (and can fail to parse),
    # and a legend leaves out any label that starts with "_".
    text = str(text).replace("$", r"\$")
    return " " + text if text.startswith("_") else text
