"""The report's figures, rendered with matplotlib's Agg canvas to PNG bytes.

Reads only a :class:`~harness.report.load.StudyData` (and importances computed from it); writes nothing:
each function returns the PNG as bytes (or ``None`` when there is nothing to draw) and the caller writes
the file. Rendering is deterministic: matplotlib's default style (the user's matplotlibrc is ignored),
fixed figure sizes and dpi, no pyplot state, and no ``Software`` or date metadata in the PNG.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from matplotlib.ticker import MaxNLocator

from harness.report.load import FAMILY, StudyData
from harness.report.tables import Importances, ranked

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
TOP_N = 5
#: Per-epoch markers on the curves of at most this many trials (beyond, they hide the lines and cost seconds).
MARKERS_UP_TO = 300


def render(draw: Callable[[Figure], None], size: tuple[float, float]) -> bytes:
    """Draw on a fresh figure of ``size`` inches (default style, constrained layout) and return the PNG bytes."""
    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.style.context("default"), matplotlib.rc_context({"font.family": "DejaVu Sans",
                                                                      "axes.unicode_minus": True}):
        fig = Figure(figsize=size, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def history_plot(data: StudyData) -> bytes | None:
    """Objective per trial (complete: filled; pruned: hollow, at its last reported value) and the best so far.

    Returns ``None`` when no trial has an objective value.
    """
    points = [t for t in data.trials if t.objective is not None and math.isfinite(t.objective)]
    if not points:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        done = [t for t in points if t.state == "complete"]
        pruned = [t for t in points if t.state != "complete"]
        if done:
            ax.scatter([t.number for t in done], [t.objective for t in done], color="C0", zorder=3, label="complete")
            best, xs, ys = None, [], []
            for t in done:
                if best is None or (t.objective > best if data.maximize else t.objective < best):
                    best = t.objective
                xs.append(t.number)
                ys.append(best)
            ax.step(xs, ys, where="post", color="C3", label="best so far")
        if pruned:
            ax.scatter([t.number for t in pruned], [t.objective for t in pruned], facecolors="none", edgecolors="C1",
                       zorder=3, label="pruned (last reported value)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("trial")
        ax.set_ylabel(f"{data.metric} (validation)")
        ax.set_title(f"Optimization history ({data.direction})")
        ax.grid(alpha=0.3)
        ax.legend(loc="best")

    return render(draw, (8, 4.5))


def lr_plot(data: StudyData) -> bytes | None:
    """Learning rate per optimizer step of the top trial of each schedule (log y axis), best first.

    One curve per schedule shows each schedule's shape; the top trials of a study often share one.
    Returns ``None`` when no ranked trial has a stored learning-rate curve.
    """
    top, seen = [], set()
    for t in ranked(data):
        schedule = t.config.get("schedule", "?")
        if schedule not in seen and (curve := data.series(t.number, "lr_per_step")):
            seen.add(schedule)
            top.append((t, curve))
    if not top:
        return None

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        for i, (t, curve) in enumerate(top):
            ys = [v if isinstance(v, (int, float)) and v > 0 else math.nan for v in curve]
            ax.plot(range(1, len(ys) + 1), ys, color=f"C{i}",
                    label=f"trial {t.number}: {t.config.get('schedule', '?')}")
        ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("learning rate")
        ax.set_title("Learning rate per step, top trial of each schedule")
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="best", fontsize="small")

    return render(draw, (8, 4.5))


def curves_plot(data: StudyData) -> bytes | None:
    """Left: validation objective per epoch for every trial, coloured by attention / model, pruned trials
    dashed. Right: training loss per epoch of the top 5 trials.

    Returns ``None`` when no trial has a history.
    """
    with_history = [t for t in data.trials if t.history]
    if not with_history:
        return None
    families = sorted({t.family or "?" for t in with_history})
    colours = _colours(len(families))
    colour = {f: colours[i] for i, f in enumerate(families)}
    top = [t for t in ranked(data) if t.history][:TOP_N]

    def draw(fig: Figure) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        left, right = fig.subplots(1, 2)
        # one collection per (family, pruned) instead of one line per trial: 10,000 trials draw in a second
        groups: dict[tuple[str, bool], list[list[tuple[float, float]]]] = {}
        for t in with_history:
            points = [(_num(h.get("epoch")), _num(h.get(data.metric))) for h in t.history]
            groups.setdefault((t.family or "?", t.state == "pruned"), []).append(points)
        for (family, pruned), lines in sorted(groups.items()):
            left.add_collection(LineCollection(lines, colors=colour[family], linestyles="--" if pruned else "-",
                                               alpha=0.85, linewidths=1.2))
            if len(with_history) <= MARKERS_UP_TO:
                xs, ys = zip(*(p for line in lines for p in line))
                left.scatter(xs, ys, color=colour[family], marker=".", s=20, alpha=0.85)
        left.autoscale_view()
        handles = [Line2D([], [], color=colour[f], label=f) for f in families]
        if any(t.state == "pruned" for t in with_history):
            handles.append(Line2D([], [], color="grey", linestyle="--", label="pruned"))
        left.legend(handles=handles, title=FAMILY, fontsize="small", loc="best")
        left.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_xlabel("epoch")
        left.set_ylabel(f"{data.metric} (validation)")
        left.set_title("Validation objective per epoch, all trials")
        left.grid(alpha=0.3)
        for i, t in enumerate(top):
            xs = [h.get("epoch") for h in t.history]
            ys = [_num(h.get("train_loss")) for h in t.history]
            right.plot(xs, ys, color=f"C{i}", marker=".", label=f"trial {t.number} ({t.family or '?'})")
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.set_xlabel("epoch")
        right.set_ylabel("training loss")
        right.set_title(f"Training loss, top {len(top)} trials")
        right.grid(alpha=0.3)
        if top:
            right.legend(fontsize="small", loc="best")

    return render(draw, (13, 4.8))


def importance_plot(sets: list[Importances]) -> bytes | None:
    """One horizontal bar chart per importance set that has scores; ``None`` when none has."""
    scored = [s for s in sets if s.scores]
    if not scored:
        return None
    rows = max(len(s.scores) for s in scored)

    def draw(fig: Figure) -> None:
        axes = fig.subplots(1, len(scored), squeeze=False)[0]
        for ax, s in zip(axes, scored):
            names = [n for n, _ in s.scores][::-1]
            values = [v for _, v in s.scores][::-1]
            ax.barh(names, values, color="C0")
            for y, v in enumerate(values):
                ax.text(v, y, f" {v:.3f}", va="center", fontsize="small")
            ax.set_xlim(0, max(1.0, max(values) * 1.2))
            ax.set_xlabel(f"{s.evaluator} importance (sums to 1)")
            ax.set_title(f"{s.title} ({s.used})", fontsize="medium")
            ax.grid(alpha=0.3, axis="x")

    return render(draw, (6.5 * len(scored), max(2.5, 0.45 * rows + 1.5)))


def attention_plot(example: dict[str, Any]) -> tuple[bytes | None, str | None]:
    """The heatmap of a stored attention example: target tokens on y, source tokens on x, a colour bar,
    the source sentence as title, the hypothesis and reference below.

    Returns:
        ``(png, None)``, or ``(None, reason)`` when the example is malformed.
    """
    src = [str(s) for s in example.get("source_tokens") or []]
    tgt = [str(s) for s in example.get("target_tokens") or []]
    weights = example.get("weights") or []
    if not src or not tgt or len(weights) != len(tgt) or any(len(row) != len(src) for row in weights):
        return None, (f"the stored attention example is malformed ({len(tgt)} target tokens x {len(src)} source "
                      f"tokens, weights {len(weights)} x {len(weights[0]) if weights else 0})")
    grid = [[_num(v) for v in row] for row in weights]
    width = min(24.0, max(6.0, 0.45 * len(src) + 3.0))
    height = min(24.0, max(4.0, 0.32 * len(tgt) + 3.0))
    wrap = max(40, int(width * 11))

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=0.0, interpolation="nearest")
        ax.set_xticks(range(len(src)), src, rotation=90)
        ax.set_yticks(range(len(tgt)), tgt)
        fig.colorbar(image, ax=ax, label="attention weight")
        # Sentences for translation; a forecasting example has none, and its axes are named by the task.
        if example.get("source"):
            ax.set_title(textwrap.fill(f"source: {example['source']}", wrap), fontsize="medium")
        sentences = bool(example.get("source"))
        x_label = example.get("x_label", "source tokens" if sentences else "keys")
        below = [textwrap.fill(f"{key}: {example[key]}", wrap) for key in ("hypothesis", "reference") if example.get(key)]
        ax.set_xlabel("\n\n".join([x_label, "\n".join(below)]) if below else x_label)
        ax.set_ylabel(example.get("y_label", "target tokens" if sentences else "queries"))

    return render(draw, (width, height)), None


def forecast_plot(example: dict[str, Any]) -> bytes | None:
    """One panel per stored window: the look-back history, the actual future and the forecast, in the
    series' original units, against time steps relative to the forecast origin.

    Returns ``None`` when the example holds no windows.
    """
    windows = [w for w in example.get("windows") or [] if w.get("history") and w.get("actual") and w.get("forecast")]
    if not windows:
        return None

    def draw(fig: Figure) -> None:
        axes = fig.subplots(len(windows), 1, squeeze=False)[:, 0]
        for ax, w in zip(axes, windows):
            L, H = len(w["history"]), len(w["actual"])
            ax.plot(range(-L + 1, 1), [_num(v) for v in w["history"]], color="0.4", label="look-back")
            ax.plot(range(1, H + 1), [_num(v) for v in w["actual"]], color="C0", label="actual")
            ax.plot(range(1, len(w["forecast"]) + 1), [_num(v) for v in w["forecast"]], color="C3", label="forecast")
            ax.axvline(0.5, color="0.7", linewidth=0.8)
            ax.set_title(f"{example.get('channel', '')}, forecast from {w.get('start', '?')}", fontsize="medium")
            ax.set_ylabel(str(example.get("channel", "value")))
            ax.grid(alpha=0.3)
        axes[0].legend(loc="upper left", fontsize="small")
        axes[-1].set_xlabel("time step relative to the forecast origin")

    return render(draw, (9, 2.6 * len(windows) + 0.6))


def caption_plot(sample: dict[str, Any], grid: tuple[int, int]) -> bytes | None:
    """The image with its generated caption and references, then one panel per generated word with the
    word's attention over the region grid overlaid on the image (as Xu et al. 2015 draw it).

    Returns ``None`` when the sample holds no decodable image.
    """
    import base64

    from matplotlib.image import imread

    try:
        image = imread(io.BytesIO(base64.b64decode(sample["png_base64"])), format="png")
    except (KeyError, ValueError, OSError):
        return None
    words = [str(w) for w in sample.get("words") or []]
    attention = sample.get("attention") or []
    h, w = grid
    cols = min(6, len(words) + 1)
    rows = -(-(len(words) + 1) // cols)  # the input, then one panel per word
    height, width = image.shape[:2]
    cmap = "gray" if image.ndim == 2 else None

    def draw(fig: Figure) -> None:
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        top = axes[0, 0]
        top.imshow(image, cmap=cmap, interpolation="nearest")
        top.set_title("input", fontsize="small")
        refs = "; ".join(str(r) for r in (sample.get("references") or [])[:5])
        fig.suptitle(textwrap.fill(f"generated: {sample.get('hypothesis', '')}", 110) + "\n"
                     + textwrap.fill(f"references: {refs}", 110), fontsize="small")
        panels = [ax for ax in axes.flat][1:]
        for ax, word, weights in zip(panels, words, attention):
            ax.imshow(image, cmap=cmap, interpolation="nearest")
            if len(weights) == h * w:
                grid_values = [[_num(weights[r * w + c]) for c in range(w)] for r in range(h)]
                peak = max(max(row) for row in grid_values) or 1.0
                ax.imshow(grid_values, cmap="magma", alpha=0.6, extent=(-0.5, width - 0.5, height - 0.5, -0.5),
                          interpolation="bilinear", vmin=0.0, vmax=peak)
            ax.set_title(word, fontsize="small")

    panel = 2.2 if width <= 2 * height else 3.2
    return render(draw, (panel * cols, 1.9 * rows * (height / max(width, 1)) * (panel / 1.9) + 1.2))


def _colours(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
