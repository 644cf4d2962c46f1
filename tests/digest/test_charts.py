"""The digest's charts: which services and series they draw, their size, and that they touch no global state."""
from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from matplotlib.colors import to_hex

from logintel.digest import charts
from logintel.digest.charts import PALETTE
from tests.digest.sample_digest import sample_digest

ROOT = Path(__file__).resolve().parents[2]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


@pytest.fixture
def drawn(monkeypatch) -> list:
    """The axes of every chart drawn while the test runs (the twin axes of a history chart too)."""
    figures = []
    real = charts._figure

    def recording():
        figure, axes = real()
        figures.append(figure)
        return figure, axes

    monkeypatch.setattr(charts, "_figure", recording)
    return figures


def lines_of(figure) -> list[tuple[str, str]]:
    return [(line.get_label(), to_hex(line.get_color())) for line in figure.axes[0].get_lines()]


def test_top_services_by_requests_name_breaking_ties():
    services = sample_digest()["charts"]["services"]
    assert charts.top_services(services, 3) == ["search", "auth", "checkout"]
    assert charts.top_services({"b": [{"requests": 5}], "a": [{"requests": 5}], "c": [{"requests": None}]}) \
        == ["a", "b", "c"]
    assert charts.top_services(services, 0) == []


def test_service_charts_draw_the_busiest_services_in_the_same_colours(drawn):
    services = sample_digest()["charts"]["services"]
    for point in services["auth"]:
        point["p99_ms"] = None  # no latency for auth: it keeps its place, and the others their colours
    charts.service_chart(services, "error_rate", top=3)
    charts.service_chart(services, "p99_ms", top=3)
    assert lines_of(drawn[0]) == [("search", PALETTE[0].lower()), ("auth", PALETTE[1].lower()),
                                  ("checkout", PALETTE[2].lower())]
    assert lines_of(drawn[1]) == [("search", PALETTE[0].lower()), ("checkout", PALETTE[2].lower())]
    assert len(drawn[0].axes[0].get_lines()[0].get_xdata()) == 22  # the hours that have data


def test_a_service_name_is_shown_as_written(drawn):
    services = {"$pay$": [{"hour": "2026-03-10T04:00:00+00:00", "requests": 5, "error_rate": 0.1}],
                "_internal": [{"hour": "2026-03-10T04:00:00+00:00", "requests": 1, "error_rate": 0.2}]}
    charts.service_chart(services, "error_rate")
    legend = [text.get_text() for text in drawn[0].axes[0].get_legend().get_texts()]
    assert legend == [r"\$pay\$", " _internal"]  # no mathtext, and "_" does not hide it from the legend


def test_trend_chart_draws_the_limit(drawn):
    trend = sample_digest()["charts"]["trends"][0]  # values 900 to 1475, limit 1500
    png = charts.trend_chart(trend, timezone_name="America/New_York")
    assert png_size(png) == (560, 180)
    axes = drawn[0].axes[0]
    series, limit = axes.get_lines()
    assert len(series.get_xdata()) == 22
    assert list(limit.get_ydata()) == [1500.0, 1500.0] and limit.get_linestyle() == "--"
    assert axes.get_ylim()[1] >= 1500.0
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [trend["label"], "limit 1500"]
    charts.trend_chart(sample_digest()["charts"]["trends"][1])  # no limit: the series alone
    assert len(drawn[1].axes[0].get_lines()) == 1


def test_history_chart_over_30_days_with_gaps(drawn):
    first = date(2026, 2, 9)
    days = [(first + timedelta(days=i), None if i % 7 == 3 else 0.8 + i / 200, None if i % 5 == 4 else 0.002 * i)
            for i in range(30)]
    days.reverse()  # any order: drawn by day
    days.append(((first + timedelta(days=30)).isoformat(), 0.95, None))  # read back from a digest's JSON
    days.append((first + timedelta(days=30), None, 0.07))  # the same day twice does not break sorting
    png = charts.history_chart(days)
    assert png_size(png) == (560, 180)
    axes, cost_axes = drawn[0].axes
    bars = axes.patches
    assert len(bars) == 31 - 4  # one bar per day with a ratio (i % 7 == 3 has none)
    assert max(bar.get_height() for bar in bars) == pytest.approx(95.0)
    (cost_line,) = cost_axes.get_lines()
    assert len(cost_line.get_xdata()) == 30 - 6 + 1
    labels = [tick.get_text() for tick in axes.get_xticklabels()]
    assert 1 < len(labels) <= 10 and labels[0] == "02-09"


def test_charts_without_data_are_still_pngs_of_the_same_size(drawn):
    no_values = {"api": [{"hour": "2026-03-10T04:00:00+00:00", "requests": 10, "error_rate": None}]}
    pngs = [charts.service_chart({}, "error_rate"), charts.service_chart(no_values, "error_rate"),
            charts.trend_chart({"key": "k", "points": []}),
            charts.trend_chart({"label": "bad", "points": [["not an hour", 1], ["2026-03-10T04:00", float("nan")]]}),
            charts.history_chart([]), charts.history_chart([(date(2026, 3, 1), None, None)])]
    for png in pngs:
        assert png_size(png) == (560, 180)
    for figure in drawn:
        texts = [text.get_text() for text in figure.axes[0].texts]
        assert len(texts) == 1 and texts[0].endswith(": no data")


def test_digest_charts_names_every_chart_and_all_are_560_by_180():
    made = charts.digest_charts(sample_digest())
    assert list(made) == ["error_rate", "p99_ms", "trend:payments-p99", "trend:search-drop"]
    assert {png_size(png) for png in made.values()} == {(560, 180)}


def test_equal_input_gives_equal_png_bytes():
    services = sample_digest()["charts"]["services"]
    trend = sample_digest()["charts"]["trends"][0]
    first = charts.service_chart(services, "p99_ms", timezone_name="America/New_York")
    assert first == charts.service_chart(sample_digest()["charts"]["services"], "p99_ms",
                                         timezone_name="America/New_York")
    assert charts.trend_chart(trend) == charts.trend_chart(dict(trend))
    assert b"matplotlib" not in first.lower()  # no Software tag naming the installed version


def test_data_uri_inlines_a_png_and_refuses_anything_else():
    png = charts.trend_chart({"points": []})
    uri = charts.data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png
    with pytest.raises(ValueError):
        charts.data_uri(b"GIF89a")


@pytest.mark.subprocess
def test_importing_and_drawing_leaves_the_matplotlib_backend_alone():
    script = """
import json, sys, matplotlib
before = matplotlib.get_backend()
params = dict(matplotlib.rcParams)
from logintel.digest import charts
charts.trend_chart({"points": [["2026-03-10T04:00:00+00:00", 1.0], ["2026-03-10T05:00:00+00:00", 2.0]], "limit": 3})
print(json.dumps({"before": before, "after": matplotlib.get_backend(), "same_params": dict(matplotlib.rcParams) == params,
                  "pyplot": "matplotlib.pyplot" in sys.modules}))
"""
    env = {**os.environ, "MPLBACKEND": "svg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=120, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"before": "svg", "after": "svg", "same_params": True, "pyplot": False}
