"""Charts with Korean labels: bars for the model and dataset cards and evaluation reports, and reliability diagrams.

    bar_chart({"드라마": 0.81, "액션": 0.64}, "per_genre_f1.png", title="...", xlabel="F1")
    reliability_diagram(calibration["bins"], "reliability.png", title="...")  # genre_model.evaluate

matplotlib's default font has no Hangul, so a CJK font installed on the system
(Noto Sans CJK on Debian's fonts-noto-cjk, Nanum, ...) is used when one exists;
without one the labels would render as empty boxes, and we say so.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

logger = logging.getLogger(__name__)

_HANGUL_FONT_FAMILIES = (
    "Noto Sans CJK KR",
    "Noto Sans CJK JP",
    "Noto Sans KR",
    "NanumGothic",
    "Malgun Gothic",
    "AppleGothic",
)


def _hangul_font() -> str | None:
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in _HANGUL_FONT_FAMILIES if family in installed), None)


@contextmanager
def _figure(path: str | Path, size: tuple[float, float]):
    """A matplotlib figure with a Hangul font, saved as a PNG at `path` when the block ends."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    font = _hangul_font()
    if font is None:
        logger.warning("no Hangul font found (install fonts-noto-cjk): Korean labels in %s will not render", path)
    with plt.rc_context({"font.family": font} if font else {}):
        figure, axes = plt.subplots(figsize=size)
        yield axes
        figure.tight_layout()
        figure.savefig(Path(path), dpi=110)
        plt.close(figure)


def bar_chart(
    values: dict[str, float], path: str | Path, *, title: str, xlabel: str, xlim: tuple[float, float] | None = None
) -> Path:
    """Draw `values` as horizontal bars (first key on top) and save a PNG at `path`."""
    labels = list(values)
    with _figure(path, (7, 0.32 * len(labels) + 1.2)) as axes:
        bars = axes.barh(labels[::-1], [values[label] for label in labels[::-1]], color="#4C72B0")
        axes.bar_label(bars, fmt="%.2f" if max(values.values(), default=0) <= 1 else "%d", padding=3, fontsize=8)
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        if xlim:
            axes.set_xlim(*xlim)
    return Path(path)


def reliability_diagram(bins: list[dict], path: str | Path, *, title: str) -> Path:
    """Mean predicted probability against the observed share of positives, per bin (the diagonal is perfect)."""
    filled = [item for item in bins if item["count"]]
    with _figure(path, (5, 5)) as axes:
        axes.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfectly calibrated")
        axes.plot(
            [b["mean_probability"] for b in filled],
            [b["positive_rate"] for b in filled],
            marker="o",
            color="#4C72B0",
            label="model",
        )
        for item in filled:
            axes.annotate(
                f"{item['count']}",
                (item["mean_probability"], item["positive_rate"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(4, -10),
            )
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_xlabel("predicted probability (bin mean)")
        axes.set_ylabel("share that is the genre")
        axes.set_title(title)
        axes.legend(loc="upper left")
    return Path(path)
