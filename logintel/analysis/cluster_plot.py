"""A PNG map of an hour's pattern clusters: one point per pattern, sized by events, coloured by cluster.

Drawn with matplotlib's Agg canvas directly (no pyplot), so it needs no display and shares no global state.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from logintel.analysis.clustering import ClusterResult

ANNOTATED_CLUSTERS = 6
MAX_MARKDOWN_CHARS = 150_000
NAME_CHARS = 56
NOISE_COLOUR = "#c4c4c4"


def plot_clusters(result: ClusterResult, names: list[str], path: Path) -> tuple[Path, str]:
    """Write the map to `path` (a PNG) and return the path with the map as markdown for the UI;
    the 100 dpi drawing serves both, so a partition is drawn once when its map is small enough."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = render_png(result, names)
    path.write_bytes(png)
    return path, plot_as_markdown(result, names, drawn=png)


def plot_as_markdown(result: ClusterResult, names: list[str], max_chars: int = MAX_MARKDOWN_CHARS,
                     drawn: bytes | None = None) -> str:
    """`![clusters](data:image/png;base64,…)`, drawn coarser until it fits in `max_chars`.
    `drawn`: the 100 dpi PNG when the caller has it already."""
    markdown = ""
    # Points and labels stay legible at 50 dpi; what shrinks is the byte count, roughly with the pixels.
    for dpi in (100, 80, 64, 50, 40):
        png = drawn if dpi == 100 and drawn is not None else render_png(result, names, dpi=dpi)
        encoded = base64.b64encode(png).decode("ascii")
        markdown = f"![clusters](data:image/png;base64,{encoded})"
        if len(markdown) <= max_chars:
            return markdown
    return f"*(cluster map left out: {len(markdown):,} characters even at 40 dpi)*"


def render_png(result: ClusterResult, names: list[str], dpi: int = 100) -> bytes:
    n = len(result.labels)
    if len(names) != n:
        raise ValueError(f"one name per pattern expected: {len(names)} names for {n} patterns")
    figure = Figure(figsize=(8, 6), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # UMAP and PCA coordinates have no units worth reading.
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(f"{n:,} patterns · {result.n_clusters:,} clusters · {result.noise:,} noise   [{result.method}]",
                   fontsize=9)
    if n == 0:
        axes.text(0.5, 0.5, "no patterns in this partition", ha="center", va="center", transform=axes.transAxes)
    else:
        _draw(axes, result, names)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def _draw(axes, result: ClusterResult, names: list[str]) -> None:
    labels, points = result.labels, np.nan_to_num(result.projection)
    weights = result.weights if len(result.weights) == len(labels) else np.ones(len(labels))
    sizes = 10 + 240 * np.sqrt(weights / max(weights.max(), 1e-9))
    palette = colormaps["tab20"]
    colours = np.array([palette(label % 20) if label >= 0 else (0.77, 0.77, 0.77, 1.0) for label in labels])
    # Heaviest last, so a big point never hides a small one behind it; noise underneath everything.
    order = np.lexsort((weights, labels >= 0))
    axes.scatter(points[order, 0], points[order, 1], s=sizes[order], c=colours[order], alpha=0.75,
                 linewidths=0.3, edgecolors="white")
    for label in range(min(result.n_clusters, ANNOTATED_CLUSTERS)):
        members = np.flatnonzero(labels == label)
        top = members[np.argmax(weights[members])]
        centre = np.average(points[members], axis=0, weights=np.maximum(weights[members], 1e-9))
        more = f" +{len(members) - 1}" if len(members) > 1 else ""
        text = f"#{label} {_short(names[top])}{more} ({weights[members].sum():,.0f} events)"
        # Text leans towards the middle of the plot, so that labels near an edge stay inside the figure.
        right_half = centre[0] > np.mean(axes.get_xlim())
        axes.annotate(text, xy=centre, xytext=(-8 if right_half else 8, 8), textcoords="offset points",
                      ha="right" if right_half else "left", fontsize=7, color="#222222",
                      bbox={"boxstyle": "round,pad=0.25", "fc": "white", "alpha": 0.85, "ec": palette(label % 20)},
                      arrowprops={"arrowstyle": "-", "color": "#555555", "lw": 0.5})


def _short(name: str) -> str:
    name = " ".join(str(name).split())
    name = name if len(name) <= NAME_CHARS else name[:NAME_CHARS - 1] + "…"
    # Log text is untrusted: a `$` would switch matplotlib into mathtext and can make drawing fail.
    return name.replace("$", r"\$")
