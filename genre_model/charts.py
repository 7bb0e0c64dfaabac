"""Horizontal bar charts with Korean labels, for the model card and the dataset card.

    bar_chart({"드라마": 0.81, "액션": 0.64}, "per_genre_f1.png", title="...", xlabel="F1")

matplotlib's default font has no Hangul, so a CJK font installed on the system
(Noto Sans CJK on Debian's fonts-noto-cjk, Nanum, ...) is used when one exists;
without one the labels would render as empty boxes, and we say so.
"""

from __future__ import annotations

import logging
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


def bar_chart(
    values: dict[str, float], path: str | Path, *, title: str, xlabel: str, xlim: tuple[float, float] | None = None
) -> Path:
    """Draw `values` as horizontal bars (first key on top) and save a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    font = _hangul_font()
    if font is None:
        logger.warning("no Hangul font found (install fonts-noto-cjk): Korean labels in %s will not render", path)
    labels = list(values)
    with plt.rc_context({"font.family": font} if font else {}):
        figure, axes = plt.subplots(figsize=(7, 0.32 * len(labels) + 1.2))
        bars = axes.barh(labels[::-1], [values[label] for label in labels[::-1]], color="#4C72B0")
        axes.bar_label(bars, fmt="%.2f" if max(values.values(), default=0) <= 1 else "%d", padding=3, fontsize=8)
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        if xlim:
            axes.set_xlim(*xlim)
        figure.tight_layout()
        path = Path(path)
        figure.savefig(path, dpi=110)
        plt.close(figure)
    return path
