"""Skeleton overlay: draw the canonical skeleton on video frames, with the deciding angle.

One job: turn a Skeleton (+ optionally the source video) into what a physio
looks at to check a verdict: `<stem>.mp4` (H.264, plays in a browser) and
`<stem>_deciding_frame.png` (the frame where the criterion was decided, with
the angle drawn as an arc and its measured value written beside it).

Drawing conventions
- Colours (RGB), sides are the athlete's own: LEFT side = blue (40, 120, 255),
  RIGHT side = orange (255, 140, 0), midline bones (shoulder line, hip line)
  = light grey. A small "left / right" legend sits in the bottom-left corner.
- Confidence: joints with conf >= `strong_conf` (0.5) are drawn solid; joints
  with `faint_conf` (0.2) <= conf < 0.5 are drawn faded (35 % opacity); below
  0.2, NaN or non-finite pixels, the joint and its bones are omitted. A bone's
  confidence is the lower of its two joints'.
- Highlight: the two segments of the angle are redrawn thick, an arc spans the
  angle at its vertex (the middle joint) and a label box gives
  "<label>: <value> <unit>" plus PASS / FAIL when known. Arc and box are green
  for pass, red for fail, yellow when not judged. The arc spans the included
  angle between the two segments in the image (always <= 180 deg); the number
  is the measured value as the caller states it (it may be a flexion angle,
  180 - included, or come from 3D), so arc and number can differ, e.g. for a
  joint seen obliquely.
- In the video the highlight stays on for `highlight_window_s` (1 s) centred on
  the deciding frame, so a viewer at normal speed can see it.
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from tools.core.errors import InputError
from tools.core.progress import advance
from tools.core.skeleton import BONES, JOINT_INDEX, JOINTS, Skeleton
from tools.video.clip import decode_ahead, probe_video, write_video

log = logging.getLogger(__name__)

LEFT_RGB = (40, 120, 255)
RIGHT_RGB = (255, 140, 0)
MIDLINE_RGB = (220, 220, 220)
PASS_RGB = (40, 200, 80)
FAIL_RGB = (230, 40, 40)
UNJUDGED_RGB = (250, 220, 40)
CANVAS_RGB = (64, 64, 64)
DEFAULT_CANVAS_WH = (640, 480)
FAINT_OPACITY = 0.35


@dataclass(frozen=True)
class Highlight:
    """The deciding measurement to draw: an angle at `joints[1]` on skeleton frame `frame`."""

    frame: int
    joints: tuple[str, str, str]
    label: str
    value: float
    unit: str = "deg"
    passed: bool | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "joints", tuple(self.joints))  # a list from JSON is fine too
        if len(self.joints) != 3:
            raise InputError(f"highlight joints must be 3 names (vertex in the middle), got {self.joints}")
        unknown = [j for j in self.joints if j not in JOINT_INDEX]
        if unknown:
            raise InputError(f"highlight joints {unknown} are not canonical joint names; use names from "
                             f"tools.core.skeleton.JOINTS such as 'left_hip', 'left_knee', 'left_ankle'")
        if self.frame < 0:
            raise InputError(f"highlight frame must be >= 0, got {self.frame}")

    def text(self) -> str:
        """"left knee flexion: 97 deg  PASS" (degrees to 1 deg, metres to 1 cm)."""
        if not math.isfinite(self.value):
            value = "n/a"
        elif self.unit == "deg":
            value = f"{self.value:.0f} deg"
        elif self.unit == "m":
            value = f"{self.value:.2f} m"
        else:
            value = f"{self.value:.3g} {self.unit}"
        verdict = {True: "  PASS", False: "  FAIL", None: ""}[self.passed]
        return f"{self.label}: {value}{verdict}"

    def to_dict(self) -> dict:
        return asdict(self)


def _side(bone: tuple[str, str]) -> str:
    names = " ".join(bone)
    if "left_" in names and "right_" not in names:
        return "left"
    if "right_" in names and "left_" not in names:
        return "right"
    return "mid"


_BONE_IDX = np.asarray([(JOINT_INDEX[a], JOINT_INDEX[b]) for a, b in BONES])
_BONE_RGB = tuple({"left": LEFT_RGB, "right": RIGHT_RGB, "mid": MIDLINE_RGB}[_side(b)] for b in BONES)
_JOINT_RGB = tuple(LEFT_RGB if j.startswith("left_") else RIGHT_RGB if j.startswith("right_") else MIDLINE_RGB
                   for j in JOINTS)


def _scale(shape: tuple[int, ...]) -> float:
    """Drawing scale: 1.0 for a 480-pixel short side."""
    return max(0.5, min(shape[0], shape[1]) / 480.0)


def draw_skeleton(frame_rgb: np.ndarray, uv: np.ndarray, conf: np.ndarray, highlight: Highlight | None = None,
                  *, strong_conf: float = 0.5, faint_conf: float = 0.2) -> np.ndarray:
    """Return a copy of `frame_rgb` [H, W, 3] uint8 with the skeleton drawn.

    uv [J, 2] pixels (x right, y down), conf [J] 0-1, canonical joint order.
    `highlight` (its `frame` field is ignored here) adds the angle arc and label.
    """
    frame_rgb = np.asarray(frame_rgb)
    if frame_rgb.dtype != np.uint8 or frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
        raise InputError(f"draw_skeleton: frame must be RGB uint8 [H, W, 3], got {frame_rgb.dtype} {frame_rgb.shape}")
    uv = np.asarray(uv, dtype=np.float64)
    conf = np.nan_to_num(np.asarray(conf, dtype=np.float64), nan=0.0)
    if uv.shape != (len(JOINTS), 2) or conf.shape != (len(JOINTS),):
        raise InputError(f"draw_skeleton: uv must be [{len(JOINTS)}, 2] and conf [{len(JOINTS)}], "
                         f"got {uv.shape} and {conf.shape}")
    ok = np.isfinite(uv).all(axis=1) & (np.abs(uv) < 1e6).all(axis=1)
    conf = np.where(ok, conf, 0.0)
    pts = np.where(ok[:, None], uv, 0.0).round().astype(np.int32)

    s = _scale(frame_rgb.shape)
    thick = max(1, round(3 * s))
    radius = max(2, round(4 * s))
    out = frame_rgb.copy()
    faint = frame_rgb.copy()
    drew_faint = False
    for (a, b), rgb in zip(_BONE_IDX, _BONE_RGB):
        c = min(conf[a], conf[b])
        if c < faint_conf:
            continue
        target = out if c >= strong_conf else faint
        drew_faint |= target is faint
        cv2.line(target, tuple(pts[a]), tuple(pts[b]), rgb, thick, cv2.LINE_AA)
    for j, rgb in enumerate(_JOINT_RGB):
        if conf[j] < faint_conf:
            continue
        target = out if conf[j] >= strong_conf else faint
        drew_faint |= target is faint
        cv2.circle(target, tuple(pts[j]), radius, rgb, -1, cv2.LINE_AA)
    if drew_faint:
        # Faded elements: blend the faint layer in (identical pixels stay identical). Only the box around
        # the faint joints (plus line width and dot radius) can differ, so only that box is compared.
        shown = pts[conf >= faint_conf]
        pad = thick + radius + 2
        x0, y0 = np.maximum(shown.min(axis=0) - pad, 0)
        x1, y1 = np.minimum(shown.max(axis=0) + pad + 1, (frame_rgb.shape[1], frame_rgb.shape[0]))
        box = (slice(int(y0), int(y1)), slice(int(x0), int(x1)))
        f_box, o_box = faint[box], out[box]
        mask = np.any(f_box != frame_rgb[box], axis=2)
        o_box[mask] = (FAINT_OPACITY * f_box[mask] + (1 - FAINT_OPACITY) * o_box[mask]).astype(np.uint8)
    _draw_legend(out, s)
    if highlight is not None:
        _draw_highlight(out, uv, conf, highlight, s, faint_conf)
    return out


def _draw_legend(img: np.ndarray, s: float) -> None:
    font_scale, th = 0.5 * s, max(1, round(s))
    h = img.shape[0]
    for k, (text, rgb) in enumerate((("left", LEFT_RGB), ("right", RIGHT_RGB))):
        y = h - round(8 * s) - k * round(20 * s)
        cv2.putText(img, text, (round(8 * s), y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), th + 2, cv2.LINE_AA)
        cv2.putText(img, text, (round(8 * s), y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, rgb, th, cv2.LINE_AA)


def _draw_highlight(img: np.ndarray, uv: np.ndarray, conf: np.ndarray, hl: Highlight, s: float,
                    faint_conf: float) -> None:
    rgb = {True: PASS_RGB, False: FAIL_RGB, None: UNJUDGED_RGB}[hl.passed]
    ia, ib, ic = (JOINT_INDEX[j] for j in hl.joints)
    seen = all(conf[i] >= faint_conf for i in (ia, ib, ic))
    vertex = (int(round(uv[ib, 0])), int(round(uv[ib, 1]))) if conf[ib] >= faint_conf else None
    if seen:
        a, b, c = uv[ia], uv[ib], uv[ic]
        for p in (a, c):
            cv2.line(img, tuple(np.round(p).astype(int)), vertex, rgb, max(2, round(5 * s)), cv2.LINE_AA)
        ang_a = math.degrees(math.atan2(a[1] - b[1], a[0] - b[0]))
        ang_c = math.degrees(math.atan2(c[1] - b[1], c[0] - b[0]))
        sweep = (ang_c - ang_a + 180.0) % 360.0 - 180.0  # interior angle, signed, |sweep| <= 180
        seg = min(np.linalg.norm(a - b), np.linalg.norm(c - b))
        r = int(np.clip(0.4 * seg, 12 * s, 60 * s))
        start, end = sorted((ang_a, ang_a + sweep))
        overlay = img.copy()
        cv2.ellipse(overlay, vertex, (r, r), 0.0, start, end, rgb, -1, cv2.LINE_AA)
        img[:] = cv2.addWeighted(overlay, 0.35, img, 0.65, 0)
        cv2.ellipse(img, vertex, (r, r), 0.0, start, end, rgb, max(2, round(3 * s)), cv2.LINE_AA)
        for i in (ia, ib, ic):
            cv2.circle(img, (int(round(uv[i, 0])), int(round(uv[i, 1]))), max(3, round(6 * s)), rgb, -1, cv2.LINE_AA)
    else:
        log.debug("highlight joints %s not all visible on this frame; drawing the label only", hl.joints)
    _label_box(img, hl.text(), rgb, vertex, s)


def _label_box(img: np.ndarray, text: str, rgb: tuple[int, int, int], anchor: tuple[int, int] | None,
               s: float) -> None:
    """Text on a dark box beside `anchor` (top-left corner when None), kept inside the image."""
    font, font_scale, th = cv2.FONT_HERSHEY_SIMPLEX, 0.6 * s, max(1, round(1.5 * s))
    (tw, tht), base = cv2.getTextSize(text, font, font_scale, th)
    pad = round(5 * s)
    h, w = img.shape[:2]
    x, y = (anchor[0] + round(20 * s), anchor[1] - round(20 * s)) if anchor else (pad, pad + tht)
    x = int(np.clip(x, 2 * pad, max(2 * pad, w - tw - 2 * pad)))
    y = int(np.clip(y, tht + 2 * pad, max(tht + 2 * pad, h - base - 2 * pad)))
    cv2.rectangle(img, (x - pad, y - tht - pad), (x + tw + pad, y + base + pad), (20, 20, 20), -1)
    cv2.rectangle(img, (x - pad, y - tht - pad), (x + tw + pad, y + base + pad), rgb, max(1, round(s)))
    cv2.putText(img, text, (x, y), font, font_scale, rgb, th, cv2.LINE_AA)


# ----------------------------------------------------------------- whole clip
def _canvas_uv(skeleton: Skeleton) -> tuple[np.ndarray, tuple[int, int]]:
    """Pixel coordinates and canvas (w, h) for drawing without a video.

    Uses `uv` when present (canvas = image_size, else the uv extent); otherwise
    projects xyz orthographically onto the x-y plane (front view, y up -> rows
    down), fitted into image_size or 640x480 with a 10 % margin.
    """
    if skeleton.uv is not None:
        if skeleton.image_size:
            return skeleton.uv, skeleton.image_size
        finite = skeleton.uv[np.isfinite(skeleton.uv).all(axis=-1)]
        extent = finite.max(axis=0) if finite.size else np.asarray(DEFAULT_CANVAS_WH)
        return skeleton.uv, (max(64, int(math.ceil(extent[0] * 1.05))), max(64, int(math.ceil(extent[1] * 1.05))))
    w, h = skeleton.image_size or DEFAULT_CANVAS_WH
    xy = skeleton.xyz[..., :2].astype(np.float64)
    finite = xy[np.isfinite(xy).all(axis=-1)]
    if not finite.size:
        return np.full(skeleton.xyz.shape[:2] + (2,), np.nan, np.float32), (w, h)
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    px_per_m = min(0.8 * w / span[0], 0.8 * h / span[1])
    centre = (lo + hi) / 2
    u = w / 2 + (xy[..., 0] - centre[0]) * px_per_m
    v = h / 2 - (xy[..., 1] - centre[1]) * px_per_m
    return np.stack([u, v], axis=-1).astype(np.float32), (w, h)


def overlay_plan(skeleton: Skeleton, out_dir: str | Path, *, video_path: str | Path | None = None,
                 highlight: Highlight | None = None, stem: str = "overlay") -> dict:
    """What `write_overlay` with these arguments will return, without drawing anything (cheap: the clip's
    facts come from probe_video). Lets a caller report the overlay's files before they are written."""
    out_dir = Path(out_dir)
    if video_path is not None:
        info = probe_video(video_path, min_duration_s=0.0, max_duration_s=math.inf, max_size_mb=math.inf)
        fps, n_out = info.fps, info.n_frames
    else:
        fps, n_out = skeleton.fps, skeleton.n_frames
    return {
        "overlay_mp4": str(out_dir / f"{stem}.mp4"),
        "deciding_frame_png": None if highlight is None else str(out_dir / f"{stem}_deciding_frame.png"),
        "deciding_frame": None if highlight is None else int(highlight.frame),
        "deciding_time_s": None if highlight is None else round(highlight.frame / skeleton.fps, 4),
        "fps": fps,
        "n_frames": n_out,
    }


def write_overlay(skeleton: Skeleton, out_dir: str | Path, *, video_path: str | Path | None = None,
                  highlight: Highlight | None = None, stem: str = "overlay",
                  highlight_window_s: float = 1.0, max_height_px: int = 720, timeline=None) -> dict:
    """Write `<stem>.mp4` (skeleton overlay, H.264) and `<stem>_deciding_frame.png` into `out_dir`.

    Video frames taller than `max_height_px` are scaled down first (a 1080p
    overlay costs twice the encoding time of 720p and a browser shows no more).

    With `video_path` the skeleton's `uv` is drawn on the video's upright
    frames (scaled when `image_size` differs from the video's size; skeleton
    frame k is matched to video frame i by time, i / video_fps = k / skeleton.fps).
    Without it, the skeleton is drawn on a neutral grey canvas (see `_canvas_uv`).
    `timeline` (tools.video.timeline.Timeline) marks the clip's repetitions along the bottom.
    `highlight.frame` is a skeleton frame index. Without a highlight no PNG is
    written and its entries are None. Returns JSON-serialisable
    {"overlay_mp4", "deciding_frame_png", "deciding_frame", "deciding_time_s", "fps", "n_frames"}.
    """
    out_dir = Path(out_dir)
    decoder = None
    if highlight is not None and highlight.frame >= skeleton.n_frames:
        raise InputError(f"highlight frame {highlight.frame} is past the end of the skeleton "
                         f"({skeleton.n_frames} frames); pass a frame index from the same skeleton")
    if video_path is not None:
        if skeleton.uv is None:
            raise InputError("this skeleton has no image coordinates (uv), so it cannot be drawn on "
                             f"{video_path}; call write_overlay without video_path to draw it on a canvas")
        info = probe_video(video_path, min_duration_s=0.0, max_duration_s=math.inf, max_size_mb=math.inf)
        fps, n_out = info.fps, info.n_frames
        uv = skeleton.uv
        if skeleton.image_size and tuple(skeleton.image_size) != (info.width, info.height):
            uv = uv * (np.asarray([info.width, info.height], np.float32) / np.asarray(skeleton.image_size, np.float32))
        decoder = decode_ahead(video_path)
        backgrounds: Iterator[np.ndarray] = decoder.__enter__()
        if info.height > max_height_px:
            shrink = max_height_px / info.height
            size = (int(round(info.width * shrink)) // 2 * 2, int(max_height_px) // 2 * 2)
            uv = uv * np.asarray([size[0] / info.width, size[1] / info.height], np.float32)
            # bilinear: a tenth of INTER_AREA's cost at this ratio (0.5-1), no visible difference on an overlay
            backgrounds = (cv2.resize(bg, size, interpolation=cv2.INTER_LINEAR) for bg in backgrounds)
    else:
        fps, n_out = skeleton.fps, skeleton.n_frames
        uv, (w, h) = _canvas_uv(skeleton)
        canvas = np.empty((h, w, 3), np.uint8)
        canvas[:] = CANVAS_RGB
        backgrounds = (canvas for _ in range(n_out))

    ratio = skeleton.fps / fps  # skeleton frames per output frame
    deciding_out = None if highlight is None else min(n_out - 1, int(round(highlight.frame / ratio)))
    half_window = max(0, int(round(highlight_window_s * fps / 2)))
    png_path = out_dir / f"{stem}_deciding_frame.png"
    captured: dict[str, np.ndarray] = {}

    def frames() -> Iterator[np.ndarray]:
        for i, bg in enumerate(backgrounds):
            advance("overlay", unit="frames")
            k = int(round(i * ratio))
            if k >= skeleton.n_frames:
                yield bg  # video longer than the skeleton: no pose for this frame
                continue
            hl = highlight if deciding_out is not None and abs(i - deciding_out) <= half_window else None
            drawn = draw_skeleton(bg, uv[k], skeleton.conf[k], hl)
            if timeline is not None:      # the repetitions along the bottom (tools/video/timeline.py)
                from tools.video.timeline import draw_timeline
                drawn = draw_timeline(drawn, timeline, k)
            if i == deciding_out:
                captured["png"] = drawn
            yield drawn

    try:
        mp4_path = write_video(out_dir / f"{stem}.mp4", frames(), fps)
    finally:
        if decoder is not None:
            decoder.__exit__(None, None, None)
    if highlight is not None and not _highlight_seen(skeleton, highlight):
        log.warning("highlight joints %s not all visible on the deciding frame %d; drew the label only",
                    highlight.joints, highlight.frame)
    png_out = None
    if highlight is not None:
        if "png" not in captured:
            raise InputError(f"the deciding frame {highlight.frame} was not reached in {video_path}; "
                             "the video and skeleton do not match (use the clip the skeleton came from)")
        tmp = png_path.with_name(f".{png_path.stem}.tmp.png")
        if not cv2.imwrite(str(tmp), cv2.cvtColor(captured["png"], cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {png_path}")
        tmp.replace(png_path)
        png_out = str(png_path)
    log.info("overlay %s: %d frames at %.3f fps, deciding frame %s", mp4_path, n_out, fps, deciding_out)
    return {
        "overlay_mp4": str(mp4_path),
        "deciding_frame_png": png_out,
        "deciding_frame": None if highlight is None else int(highlight.frame),
        "deciding_time_s": None if highlight is None else round(highlight.frame / skeleton.fps, 4),
        "fps": fps,
        "n_frames": n_out,
    }


def _highlight_seen(skeleton: Skeleton, highlight: Highlight, faint_conf: float = 0.2) -> bool:
    """Whether the three highlight joints are seen (conf >= faint_conf) on the deciding frame."""
    conf = np.nan_to_num(skeleton.conf[highlight.frame], nan=0.0)
    return all(conf[JOINT_INDEX[j]] >= faint_conf for j in highlight.joints)
