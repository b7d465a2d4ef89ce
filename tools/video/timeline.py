"""The repetition timeline drawn along the bottom of an overlay frame.

One bar spans the whole clip; each repetition is a block from its start to its
end frame, labelled "#k" (and its score when known), coloured by what it was:
counted = green (40, 200, 80), scored but not counted = blue (90, 150, 230),
ignored (partial, another movement, not scorable) = grey (150, 150, 150). A
white tick marks the frame on screen. Frames are skeleton frames; the bar is
`height_px` tall at a 480-pixel short side (scaled with the frame).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

COUNTED_RGB = (40, 200, 80)
SCORED_RGB = (90, 150, 230)
IGNORED_RGB = (150, 150, 150)
BAR_RGB = (30, 30, 30)
STATUS_RGB = {"counted": COUNTED_RGB, "scored": SCORED_RGB, "ignored": IGNORED_RGB}


@dataclass(frozen=True)
class TimelineBlock:
    """One repetition on the timeline (frames of the skeleton, end inclusive)."""

    start_frame: int
    end_frame: int
    label: str                    # "#2 3"
    status: str = "scored"        # counted | scored | ignored


@dataclass(frozen=True)
class Timeline:
    """Every repetition of a clip, for drawing under the overlay."""

    n_frames: int
    blocks: tuple[TimelineBlock, ...] = field(default_factory=tuple)
    height_px: int = 16

    def to_dict(self) -> dict:
        return {"n_frames": self.n_frames, "height_px": self.height_px, "blocks": [asdict(b) for b in self.blocks]}

    @classmethod
    def from_dict(cls, d: dict | None) -> Timeline | None:
        if not d:
            return None
        return cls(n_frames=int(d["n_frames"]), height_px=int(d.get("height_px", 16)),
                   blocks=tuple(TimelineBlock(**b) for b in d.get("blocks", [])))

    @classmethod
    def from_repetitions(cls, repetitions: list[dict], n_frames: int) -> Timeline | None:
        """From the verdict's / score_rubric's repetition list (index, start_frame, end_frame, status, score)."""
        blocks = []
        for r in repetitions or []:
            if r.get("start_frame") is None or r.get("end_frame") is None:
                continue
            score = r.get("score")
            label = f"#{r['index']}" + ("" if score is None else f" {score}") + (
                f" {r['side']}" if r.get("side") in ("L", "R") else "")
            blocks.append(TimelineBlock(int(r["start_frame"]), int(r["end_frame"]), label,
                                        str(r.get("status") or "scored")))
        return cls(n_frames=int(n_frames), blocks=tuple(blocks)) if blocks else None


def draw_timeline(img: np.ndarray, timeline: Timeline, frame: int) -> np.ndarray:
    """Draw the timeline on `img` (RGB uint8 [H, W, 3], changed in place and returned) at skeleton `frame`."""
    h, w = img.shape[:2]
    s = max(0.5, min(h, w) / 480.0)
    bar_h = max(8, round(timeline.height_px * s))
    margin = max(2, round(6 * s))
    x0, x1 = margin + round(70 * s), w - margin            # the legend keeps the bottom-left corner
    y1 = h - margin
    y0 = y1 - bar_h
    span = max(1, timeline.n_frames - 1)

    def x_of(f: int) -> int:
        return int(round(x0 + (x1 - x0) * min(max(f, 0), span) / span))

    cv2.rectangle(img, (x0, y0), (x1, y1), BAR_RGB, -1)
    font, fs, th = cv2.FONT_HERSHEY_SIMPLEX, 0.38 * s, max(1, round(s))
    for b in timeline.blocks:
        a, e = x_of(b.start_frame), max(x_of(b.end_frame), x_of(b.start_frame) + 2)
        rgb = STATUS_RGB.get(b.status, SCORED_RGB)
        cv2.rectangle(img, (a, y0 + 2), (e, y1 - 2), rgb, -1)
        if b.status == "counted":
            cv2.rectangle(img, (a, y0), (e, y1), (255, 255, 255), max(1, round(s)))
        (tw, _th), _ = cv2.getTextSize(b.label, font, fs, th)
        tx = int(np.clip(a, x0, max(x0, x1 - tw)))
        cv2.putText(img, b.label, (tx, y0 - 3), font, fs, (0, 0, 0), th + 2, cv2.LINE_AA)
        cv2.putText(img, b.label, (tx, y0 - 3), font, fs, rgb, th, cv2.LINE_AA)
    cx = x_of(frame)
    cv2.line(img, (cx, y0 - 2), (cx, y1 + 1), (255, 255, 255), max(1, round(2 * s)))
    return img
