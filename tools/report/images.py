"""Images embedded in the HTML reports as data URIs (the report stays one self-contained file)."""
from __future__ import annotations

import base64
import io
from pathlib import Path


def new_figure(figsize: tuple[float, float], dpi: float | None = None):
    """(figure, axes): a matplotlib Figure outside pyplot.

    pyplot keeps one global registry of open figures, and the app screens
    several clips at once in threads: figures made and closed there from two
    threads at the same time can break each other. A bare Figure (Agg canvas)
    belongs to its caller alone and is freed with it.
    """
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize, dpi=dpi)        # dpi None: matplotlib's default
    return fig, fig.subplots()


def data_uri_png(fig) -> str:
    """A matplotlib figure (see new_figure) as a PNG data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def file_uri(path: str | None) -> str | None:
    """A PNG file as a data URI, or None when there is no such file."""
    if not path or not Path(path).is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
