"""`picoq compare --plot`: each layer's local and cumulative SQNR, readable at hundreds of layers.

Layers go top to bottom in execution order, in side-by-side panels of at most ROWS_PER_PANEL
rows, so the figure grows in width by panels rather than into a strip thousands of pixels
high. Names are shortened (shared prefixes and exporter boilerplate dropped, kept unique).
"""

from __future__ import annotations

import math
import os
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .compare import LayerError

ROWS_PER_PANEL = 100
ROW_INCHES = 0.13  # fits LABEL_PT labels without overlap
LABEL_PT = 6.5
MAX_NAME = 28
CAP_DB = 100.0  # an exact tensor (inf dB) is drawn at this


def _parts(name: str) -> list[str]:
    """A tensor name's path components, without exporter boilerplate: torch's
    ".../Conv_output_0" suffix and the module nesting it repeats ("conv/conv.0/conv.0.0"
    says no more than "conv.0.0")."""
    parts = [p for p in re.split(r"[/:]", name) if p]
    if parts:
        parts[-1] = re.sub(r"_output_\d+$", "", parts[-1])
    return [p for k, p in enumerate(parts) if not (k + 1 < len(parts) and parts[k + 1].startswith(p))]


def short_names(names: list[str], max_len: int = MAX_NAME) -> list[str]:
    """Short labels for `names`, unique when the names are: the components every name
    shares at its start are dropped, then each label is cut from the left to `max_len`
    characters, except where that would make two labels equal (those keep more)."""
    parts = [_parts(n) or [n] for n in names]
    common = 0
    while all(len(p) > common + 1 and p[common] == parts[0][common] for p in parts):
        common += 1
    labels = ["/".join(p[common:]) for p in parts]
    if len(set(labels)) < len(set(names)):  # the clean-up merged names: show them whole
        labels = list(names)
    cut = [lb if len(lb) <= max_len else "…" + lb[-(max_len - 1) :] for lb in labels]
    seen: dict[str, int] = {}
    for c in cut:
        seen[c] = seen.get(c, 0) + 1
    return [c if seen[c] == 1 else lb for c, lb in zip(cut, labels)]


TOP_INCHES = 1.0  # title and legend
BOTTOM_INCHES = 0.5  # x tick labels and axis label
BARS_INCHES = 2.6  # the bars' width in each panel


def figure_inches(n_rows: int, label_inches: float = 2.4) -> tuple[float, float, int]:
    """(width, height, panels) of the figure for `n_rows` layers whose widest y label is
    `label_inches` wide."""
    panels = max(1, math.ceil(n_rows / ROWS_PER_PANEL))
    per_panel = math.ceil(n_rows / panels) if n_rows else 1
    panel = label_inches + BARS_INCHES + 0.4
    return max(panel * panels, 5.5), TOP_INCHES + BOTTOM_INCHES + ROW_INCHES * max(per_panel, 8), panels


def plot(rows: list[LayerError], path: str | os.PathLike, dpi: int = 100) -> None:
    """Each layer's local (dot) and cumulative (bar) SQNR in execution order (needs matplotlib).

    The axes are placed from the measured width of the longest label rather than by
    tight_layout, which would lay out every tick label once more (seconds at 300 layers)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_agg import RendererAgg
        from matplotlib.font_manager import FontProperties
    except ImportError as e:
        raise ImportError("--plot needs matplotlib: pip install matplotlib") from e
    rows = sorted(rows, key=lambda r: r.order)
    ticks = [f"{lb} ({r.op})" for lb, r in zip(short_names([r.tensor for r in rows]), rows)]
    font = FontProperties(size=LABEL_PT)
    measure = RendererAgg(1, 1, 72)  # points = pixels at 72 dpi
    label_in = max(
        [measure.get_text_width_height_descent(t, font, ismath=False)[0] / 72 for t in ticks] + [0.5]
    )
    cum = np.array([min(r.sqnr_db, CAP_DB) for r in rows], dtype=float)
    loc = np.array([min(r.local_sqnr_db, CAP_DB) for r in rows], dtype=float)  # nan: not drawn
    finite = [v for v in [*cum, *loc] if math.isfinite(v)]
    lo, hi = min([0.0, *finite]), max([10.0, *finite]) + 5
    width, height, panels = figure_inches(len(rows), label_in)
    fig = plt.figure(figsize=(width, height))
    per_panel = math.ceil(len(rows) / panels) if rows else 1
    panel = width / panels  # at least figure_inches' panel: the title may widen one
    for p in range(panels):
        ax = fig.add_axes(
            (
                (p * panel + label_in + 0.2) / width,
                BOTTOM_INCHES / height,
                BARS_INCHES / width,
                1 - (TOP_INCHES + BOTTOM_INCHES) / height,
            )
        )
        part = slice(p * per_panel, (p + 1) * per_panel)
        y = np.arange(len(rows))[part]
        ax.barh(y, np.maximum(cum[part], lo) - lo, left=lo, height=0.8, color="tab:blue", alpha=0.45)
        ax.plot(loc[part], y, "o", color="tab:red", markersize=3)
        ax.set_yticks(y, ticks[part], fontsize=LABEL_PT)
        ax.set_ylim(p * per_panel + per_panel - 0.5, p * per_panel - 0.5)  # first layer on top
        ax.set_xlim(lo, hi)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel("SQNR (dB), higher is better", fontsize=7, labelpad=1)
        ax.grid(axis="x", alpha=0.3)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color="tab:blue", alpha=0.45),
        plt.Line2D([], [], ls="", marker="o", color="tab:red", markersize=4),
    ]
    fig.legend(
        handles,
        [
            "cumulative: the int8 model's tensor, upstream errors included",
            "local: the op alone on the float model's quantized inputs",
        ],
        loc="upper center",
        ncol=2 if panels > 1 else 1,  # one panel is too narrow for both entries on a line
        fontsize=8,
        frameon=False,
        bbox_to_anchor=(0.5, 1 - 0.35 / height),
    )
    fig.suptitle(
        f"picoq compare: per-layer quantization error ({len(rows)} tensors)", fontsize=10, y=1 - 0.1 / height
    )
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
