"""Images embedded in the HTML reports as data URIs (the report stays one self-contained file)."""
from __future__ import annotations

import base64
import io
from pathlib import Path


def data_uri_png(fig) -> str:
    """A matplotlib figure as a PNG data URI; the figure is closed."""
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def file_uri(path: str | None) -> str | None:
    """A PNG file as a data URI, or None when there is no such file."""
    if not path or not Path(path).is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
