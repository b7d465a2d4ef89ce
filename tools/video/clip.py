"""Video I/O: open and validate a clip, read upright RGB frames, write browser-playable mp4.

One job: everything FormScout does with video containers goes through here
(PyAV, i.e. FFmpeg's libraries shipped inside the `av` wheel; no ffmpeg binary).

- `probe_video(path)` validates a clip and returns `VideoInfo` (fps, frame count,
  upright size, rotation, codec, bytes). It raises `InputError` with a
  what-to-do message for every way a user's file can be unusable.
- `iter_frames(path)` / `read_frame(path, i)` yield RGB uint8 frames [H, W, 3],
  already rotated upright according to the container's display matrix (phone
  portrait clips are stored landscape plus a "rotate 90" tag).
- `write_video(path, frames, fps)` writes H.264 (libx264, yuv420p, +faststart)
  mp4, which every browser plays.

Conventions
- `rotation_deg` is the clockwise rotation (0, 90, 180, 270) that turns the
  stored picture upright: the value of the legacy `rotate` tag that phones
  write. FFmpeg's display matrix stores the counter-clockwise angle, so
  `rotation_deg = -frame.rotation mod 360`.
- Frame index i is the i-th frame in presentation order, from 0.

Truncated files: `probe_video` demuxes every packet (cheap, no decoding), then
decodes the first frames and the last group of pictures. A file whose
decodable packets fall short of the frame count its header promises (an upload
cut off halfway) is REJECTED with "truncated", rather than silently measured on
part of the movement: a half movement would be scored as if it were whole. A
truncated mp4 whose index (moov atom) sits at the end cannot be opened at all
and is rejected the same way.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import av
import numpy as np

from tools.core.errors import InputError

log = logging.getLogger(__name__)

# Encoders tried in order. libx264 ships inside PyAV's wheels and gives H.264
# that every browser plays; libopenh264 is what some distro builds carry
# instead. mpeg4 (MPEG-4 part 2) is a last resort that VLC plays but browsers do not.
H264_ENCODERS: tuple[str, ...] = ("libx264", "libopenh264")
FALLBACK_ENCODER = "mpeg4"

# A header may over-promise by a frame or two (edit lists, a dropped last
# B-frame); more than this fraction missing means the file was cut off.
_TRUNCATION_TOLERANCE = 0.05
_HEAD_FRAMES = 3  # frames decoded at the start to prove the stream decodes
MIN_SIDE_PX = 32  # smaller frames cannot hold a person: a broken or wrongly scaled export
# Variable frame rate: the 95th-percentile frame interval over the 5th. A phone's own jitter is ~1.1 and a
# low-light switch from 30 to 15 fps is 2.0; beyond this the clip's time axis is unreliable.
VFR_MAX_INTERVAL_RATIO = 2.5
_ROTATION_TOLERANCE_DEG = 1.0


@dataclass(frozen=True)
class VideoLimits:
    """Accepted clip limits (defaults suit one FMS test filmed on a phone)."""

    min_duration_s: float = 1.0
    max_duration_s: float = 120.0
    max_size_mb: float = 500.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class VideoInfo:
    """Facts about a validated clip. Width/height are upright (after rotation)."""

    path: str
    fps: float
    n_frames: int
    duration_s: float
    width: int
    height: int
    rotation_deg: int
    codec: str
    size_bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


# ----------------------------------------------------------------- writing
def pick_encoder() -> str:
    """Name of the first available H.264 encoder, else the mpeg4 fallback (logged)."""
    for name in H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except av.FFmpegError:
            continue
        return name
    log.warning("no H.264 encoder in this PyAV build (tried %s); writing %s, which browsers may not play",
                ", ".join(H264_ENCODERS), FALLBACK_ENCODER)
    return FALLBACK_ENCODER


def _as_rgb_frame(frame: np.ndarray, index: int) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"write_video: frame {index} must be RGB uint8 [H, W, 3], "
                         f"got {arr.dtype} {arr.shape}; convert it with np.uint8 / cv2.cvtColor first")
    return arr


def _pad_even(arr: np.ndarray) -> np.ndarray:
    """Pad one pixel row/column (edge copy) so width and height are even (yuv420p needs it)."""
    pad_h, pad_w = arr.shape[0] % 2, arr.shape[1] % 2
    if pad_h or pad_w:
        arr = np.pad(arr, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    return np.ascontiguousarray(arr)


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float, crf: int = 23,
                *, rotation_deg: int = 0) -> Path:
    """Write RGB uint8 frames [H, W, 3] to an H.264 yuv420p mp4 that browsers play.

    Odd widths/heights are padded by one edge pixel (pixel coordinates are
    unchanged). `crf` is x264's constant rate factor (0 lossless .. 51 worst;
    23 default). `rotation_deg` (clockwise, multiple of 90) writes a display
    matrix, as a phone does for a portrait clip; leave it 0 normally. The file
    is written beside the target and renamed, so a crash never leaves half a file.
    Returns the path written.
    """
    path = Path(path)
    if not (fps and fps > 0):
        raise InputError(f"write_video: fps must be positive, got {fps}")
    if rotation_deg % 90:
        raise InputError(f"write_video: rotation_deg must be a multiple of 90, got {rotation_deg}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.mp4")
    encoder = pick_encoder()
    rate = Fraction(fps).limit_denominator(1001)
    n_written = 0
    try:
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = None
            size = None
            for i, frame in enumerate(frames):
                arr = _pad_even(_as_rgb_frame(frame, i))
                if stream is None:
                    size = arr.shape[:2]
                    stream = container.add_stream(encoder, rate=rate)
                    stream.width, stream.height = size[1], size[0]
                    stream.pix_fmt = "yuv420p"
                    if encoder == "libx264":
                        stream.options = {"crf": str(int(crf)), "preset": "veryfast"}
                    if rotation_deg % 360:
                        # PyAV takes the counter-clockwise angle (FFmpeg's convention).
                        stream.set_display_rotation(-(rotation_deg % 360))
                elif arr.shape[:2] != size:
                    raise InputError(f"write_video: frame {i} is {arr.shape[1]}x{arr.shape[0]} but the first "
                                     f"frame was {size[1]}x{size[0]}; all frames of a video must share one size")
                for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                    container.mux(packet)
                n_written += 1
            if stream is None:
                raise InputError(f"write_video: no frames given for {path}; pass at least one frame")
            for packet in stream.encode():
                container.mux(packet)
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("wrote %s: %d frames, %.3f fps, %s crf=%d", path, n_written, float(rate), encoder, crf)
    return path


# ----------------------------------------------------------------- reading
_CONVERT_HINT = "export or re-record it as an .mp4 (H.264) clip from the phone or camera app"
_STILL_IMAGE_FORMATS = ("image2", "tty")  # plus every "*_pipe" single-image demuxer


def _open(path: str | Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open a file and return (container, first video stream), or raise InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"video file not found: {path}; check the path (and that the file was copied fully)")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a video file; pass the path of one clip inside it")
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise InputError(f"{path} is not a readable video (truncated, corrupt or not a video at all: "
                         f"{exc.strerror or exc}); {_CONVERT_HINT}") from exc
    fmt = container.format.name
    if fmt in _STILL_IMAGE_FORMATS or fmt.endswith("_pipe"):
        container.close()
        raise InputError(f"{path} is a still image or text ({fmt}), not a video; {_CONVERT_HINT}")
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        container.close()
        raise InputError(f"{path} has no video stream (it holds {', '.join(kinds)}); "
                         f"pass the video recording of the test, not an audio file or export")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


def _rotation_deg(frame: av.VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) that make this decoded frame upright."""
    return int(round(-frame.rotation / 90.0)) % 4 * 90


def _upright(frame: av.VideoFrame) -> np.ndarray:
    """Decoded frame -> RGB uint8 [H, W, 3], rotated upright."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = _rotation_deg(frame) // 90
    # np.rot90 with k>0 turns counter-clockwise, so -turns turns clockwise.
    return np.ascontiguousarray(np.rot90(rgb, k=-turns)) if turns else rgb


def _stream_fps(stream: av.video.stream.VideoStream) -> float | None:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else None


def _remembered(probe):
    """`probe` (probe_video) memoised per file version: one clip is probed once per process.

    A screening run asks for the same clip's facts five times (check, pose, tracking, overlay...); each
    probe demuxes the whole file (~0.5 s for a 8 s clip). The facts are probed once with no duration or
    size limit, kept for that file version (path, inode, size, modification time: an edited file is
    probed again), and each call's own limits are then checked against them; a clip outside a caller's
    limits is probed again with those limits, so the error message is exactly probe_video's.
    """
    import functools
    import math

    @functools.lru_cache(maxsize=32)
    def facts(path: str, inode: int, size: int, mtime_ns: int) -> VideoInfo:
        return probe(path, min_duration_s=0.0, max_duration_s=math.inf, max_size_mb=math.inf)

    @functools.wraps(probe)
    def remembered(path: str | Path, *, min_duration_s: float = VideoLimits.min_duration_s,
                   max_duration_s: float = VideoLimits.max_duration_s,
                   max_size_mb: float = VideoLimits.max_size_mb) -> VideoInfo:
        limits = dict(min_duration_s=min_duration_s, max_duration_s=max_duration_s, max_size_mb=max_size_mb)
        try:
            st = Path(path).stat()
        except OSError:
            st = None
        if st is None or not Path(path).is_file() or st.st_size > max_size_mb * 1e6:
            return probe(path, **limits)
        info = facts(str(path), st.st_ino, st.st_size, st.st_mtime_ns)
        if not min_duration_s <= info.duration_s <= max_duration_s:
            return probe(path, **limits)
        return dataclasses.replace(info)

    remembered.cache_clear = facts.cache_clear
    return remembered


@_remembered
def probe_video(path: str | Path, *, min_duration_s: float = VideoLimits.min_duration_s,
                max_duration_s: float = VideoLimits.max_duration_s,
                max_size_mb: float = VideoLimits.max_size_mb) -> VideoInfo:
    """Validate a clip and return its facts; raise InputError saying what to do if it is unusable.

    Checks, in order: exists, is a file, size <= max_size_mb, opens as a media
    container, is not a still image, has a video stream, the first frames
    decode, the picture can be made upright by quarter turns and is at least
    MIN_SIDE_PX each way, every packet demuxes, as many packets as the header
    promises (else "truncated"), timestamps increase at a steady rate (no
    repeats, a variable frame rate within VFR_MAX_INTERVAL_RATIO), the last group of
    pictures decodes (skipped for formats that cannot seek, e.g. a raw .h264
    stream), min_duration_s <= duration <= max_duration_s.
    Cost: one demux pass (no decoding) plus a few decoded frames at each end.
    n_frames is the number of video packets (one per frame for H.264/HEVC/VP9).
    Pass limits from a `VideoLimits` with `probe_video(p, **limits.to_dict())`.
    """
    path = Path(path)
    if path.is_file():
        size_bytes = path.stat().st_size
        if size_bytes > max_size_mb * 1e6:
            raise InputError(f"{path} is {size_bytes / 1e6:.1f} MB, over the {max_size_mb:g} MB limit; "
                             "trim it to the one test (a few seconds) or export at a lower resolution")
        if size_bytes == 0:
            raise InputError(f"{path} is an empty file (0 bytes); copy or export the clip again")
    # Pass 1, decode the head: proves the stream decodes and gives size and rotation.
    container, stream = _open(path)
    with container:
        codec = stream.codec_context.name
        fps = _stream_fps(stream)
        time_base = stream.time_base
        header_frames = int(stream.frames or 0)
        head = _decode_some(container, stream, path, start_pts=None, limit=_HEAD_FRAMES)
    if not fps:
        raise InputError(f"{path}: the video stream has no frame rate; {_CONVERT_HINT}")
    if not head:
        raise InputError(f"{path}: none of its frames decode ({codec}); {_CONVERT_HINT}")
    rotation_deg = _rotation_deg(head[0])
    width, height = head[0].width, head[0].height
    _check_picture(path, head[0])

    # Pass 2, demux every packet (no decoding): the real frame count and timestamps.
    n_frames = 0
    pts: list[int] = []
    keyframe_pts: list[int] = []
    end_pts = None
    container, stream = _open(path)
    with container:
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue  # end-of-stream flush packet
                n_frames += 1
                if packet.pts is not None:
                    pts.append(packet.pts)
                    if packet.is_keyframe:
                        keyframe_pts.append(packet.pts)
                    end = packet.pts + (packet.duration or 0)
                    end_pts = end if end_pts is None else max(end_pts, end)
        except av.FFmpegError as exc:
            raise InputError(f"{path} is corrupt: reading stopped after {n_frames} frames ({exc.strerror or exc}); "
                             f"copy or export the clip again") from exc
    if n_frames == 0:
        raise InputError(f"{path} has a video stream but no frames in it; record or export the clip again")
    if header_frames and n_frames < header_frames * (1 - _TRUNCATION_TOLERANCE) - 2:
        raise InputError(f"{path} is truncated: its header promises {header_frames} frames but only "
                         f"{n_frames} are in the file (an upload or copy was cut off); copy the full clip again")
    if time_base and len(pts) == n_frames:
        _check_frame_timing(path, pts, time_base)

    # Pass 3, decode the tail (last keyframe to the end): proves the end of the file is intact.
    if keyframe_pts and n_frames > _HEAD_FRAMES:
        container, stream = _open(path)
        with container:
            try:
                container.seek(keyframe_pts[-1], stream=stream, backward=True, any_frame=False)
            except av.FFmpegError:
                log.debug("%s cannot seek (%s); end of clip not decoded", path, container.format.name)
            else:
                tail = _decode_some(container, stream, path, start_pts=keyframe_pts[-1], limit=None)
                if not tail:
                    raise InputError(f"{path}: the end of the clip does not decode (corrupt or cut off); "
                                     "copy or export the clip again")

    if end_pts is not None and len(pts) == n_frames > 1 and time_base:
        duration_s = float((end_pts - min(pts)) * time_base)
    else:
        duration_s = n_frames / fps
    if rotation_deg in (90, 270):
        width, height = height, width
    info = VideoInfo(path=str(path), fps=round(fps, 6), n_frames=n_frames, duration_s=round(duration_s, 6),
                     width=width, height=height, rotation_deg=rotation_deg, codec=codec,
                     size_bytes=path.stat().st_size)
    if duration_s < min_duration_s:
        raise InputError(f"{path} lasts {duration_s:.2f} s, shorter than the {min_duration_s:g} s minimum; "
                         "film the whole test, from the start position to the return")
    if duration_s > max_duration_s:
        raise InputError(f"{path} lasts {duration_s:.1f} s, longer than the {max_duration_s:g} s maximum; "
                         "trim it to the one test being screened")
    log.info("probed %s: %dx%d (upright, rotation %d deg), %.3f fps, %d frames, %.2f s, %s, %.1f MB",
             path, info.width, info.height, rotation_deg, fps, n_frames, duration_s, codec, info.size_bytes / 1e6)
    return info


def _check_picture(path: Path, frame: av.VideoFrame) -> None:
    """The picture can be measured: turned upright by quarter turns, and big enough to find a person in."""
    ccw = float(frame.rotation or 0.0)
    if abs(ccw - 90.0 * round(ccw / 90.0)) > _ROTATION_TOLERANCE_DEG:
        raise InputError(f"{path} is tagged to be shown rotated by {ccw % 360:.0f} degrees, which no quarter turn "
                         f"makes upright; {_CONVERT_HINT}")
    if min(frame.width, frame.height) < MIN_SIDE_PX:
        raise InputError(f"{path} is {frame.width}x{frame.height} px, too small to find the athlete's joints "
                         f"(at least {MIN_SIDE_PX} px each way; film at 720p or more)")


def _check_frame_timing(path: Path, pts: list[int], time_base) -> None:
    """Timestamps that increase at a steady enough rate for the clip's time axis (angles per second, events)."""
    if len(pts) < 10:
        return
    ordered = np.sort(np.asarray(pts, dtype=np.int64))
    steps = np.diff(ordered) * float(time_base)
    if np.any(steps <= 0):
        raise InputError(f"{path} has {int(np.sum(steps <= 0))} frames with repeated timestamps (a broken or "
                         f"screen-recorded export); {_CONVERT_HINT}")
    lo, hi = np.percentile(steps, [5, 95])
    if hi / lo > VFR_MAX_INTERVAL_RATIO:
        raise InputError(f"{path} has a variable frame rate: frames are {1000 * lo:.0f} to {1000 * hi:.0f} ms apart "
                         f"(more than {VFR_MAX_INTERVAL_RATIO:g}x), so its timing cannot be trusted; re-export it "
                         "at a constant frame rate (e.g. 30 fps)")


def _decode_some(container, stream, path: Path, *, start_pts: int | None, limit: int | None) -> list[av.VideoFrame]:
    """Decode up to `limit` frames from where the container stands, skipping frames before `start_pts`.

    Raises InputError on a decoding failure.
    """
    frames: list[av.VideoFrame] = []
    try:
        for frame in container.decode(stream):
            if start_pts is not None and frame.pts is not None and frame.pts < start_pts:
                continue
            frames.append(frame)
            if limit is not None and len(frames) >= limit:
                break
    except av.FFmpegError as exc:
        if start_pts is None and not frames:
            what = "none of its frames decode"
        else:
            what = f"decoding failed {'at the start' if start_pts is None else 'near the end'} after {len(frames)} good frames"
        raise InputError(f"{path} is corrupt: {what} ({exc.strerror or exc}); "
                         "copy or export the clip again") from exc
    return frames


def iter_frames(path: str | Path, *, max_frames: int | None = None, every_nth: int = 1, start: int = 0,
                stop: int | None = None) -> Iterator[np.ndarray]:
    """Yield upright RGB uint8 frames [H, W, 3]: frames 0, n, 2n, ... (at most `max_frames` of them).

    `start` / `stop` pick a half-open range [start, stop) of those frames (counted after every_nth; a
    piece of the clip for one worker): frames before `start` are decoded but not converted to RGB.
    Does not re-validate the clip: call `probe_video` first for user input.
    A decoding error part-way raises InputError after the good frames were yielded.
    """
    if every_nth < 1:
        raise InputError(f"every_nth must be >= 1, got {every_nth}")
    if max_frames is not None and max_frames < 0:
        raise InputError(f"max_frames must be >= 0 or None, got {max_frames}")
    if start < 0 or (stop is not None and stop < start):
        raise InputError(f"frame range [{start}, {stop}) is not a range of frames")
    end = min(v for v in (max_frames, stop) if v is not None) if (max_frames is not None or stop is not None) \
        else None
    if end is not None and end <= start:
        return
    container, stream = _open(path)
    with container:
        yielded = 0
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i % every_nth or i // every_nth < start:
                    continue
                yield _upright(frame)
                yielded += 1
                if end is not None and start + yielded >= end:
                    return
        except av.FFmpegError as exc:
            raise InputError(f"{path} is corrupt: decoding failed after {yielded} frames "
                             f"({exc.strerror or exc}); copy or export the clip again") from exc


class decode_ahead:
    """Frames of `iter_frames(path, ...)` decoded by a background thread while the caller works on the last one.

    Use as a context manager: `with decode_ahead(path) as frames: for frame in frames: ...`. Up to `depth`
    decoded frames wait in a queue (depth x one frame of memory: 8 x 6 MB at 1080p). PyAV releases the
    interpreter lock while it decodes and converts, so on two or more cores decoding costs the pose model
    next to nothing. A decoding error reaches the caller at the frame where it happened (as InputError, the
    good frames first); leaving the loop early stops the thread.
    """

    _DONE = object()

    def __init__(self, path: str | Path, *, max_frames: int | None = None, every_nth: int = 1, start: int = 0,
                 stop: int | None = None, depth: int = 8) -> None:
        import queue
        import threading

        self._source = iter_frames(path, max_frames=max_frames, every_nth=every_nth, start=start, stop=stop)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._decode, name=f"decode {Path(path).name}", daemon=True)

    def _put(self, item) -> bool:
        import queue
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _decode(self) -> None:
        try:
            for frame in self._source:
                if not self._put(frame):
                    return
        except BaseException as exc:  # noqa: BLE001  handed to the consumer, raised there
            self._put(exc)
            return
        finally:
            self._source.close()
        self._put(self._DONE)

    def __enter__(self) -> Iterator[np.ndarray]:
        self._thread.start()
        return self._frames()

    def _frames(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def read_frame(path: str | Path, index: int) -> np.ndarray:
    """The upright RGB uint8 frame [H, W, 3] at `index` (presentation order, from 0).

    Seeks to the keyframe before it and decodes forward, so reading frame 3000
    of a long clip does not decode the 2999 before it.
    """
    if index < 0:
        raise InputError(f"frame index must be >= 0, got {index}")
    container, stream = _open(path)
    with container:
        packets = [p.pts for p in container.demux(stream) if p.size]
        if index >= len(packets):
            raise InputError(f"frame {index} is past the end of {path}, which has {len(packets)} frames "
                             f"(valid: 0..{len(packets) - 1})")
        if any(p is None for p in packets):  # no timestamps (raw elementary stream): decode from the start
            for i, frame in enumerate(iter_frames(path)):
                if i == index:
                    return frame
            raise InputError(f"{path}: frame {index} could not be decoded; copy or export the clip again")
        target = sorted(packets)[index]
        try:
            container.seek(target, stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts >= target:
                    return _upright(frame)
        except av.FFmpegError as exc:
            raise InputError(f"{path} is corrupt: frame {index} cannot be decoded ({exc.strerror or exc}); "
                             "copy or export the clip again") from exc
    raise InputError(f"{path}: frame {index} could not be decoded; copy or export the clip again")


# ----------------------------------------------------------------- camera metadata
# Container / stream tags that describe the camera (QuickTime "mdta" keys phones write; Android's
# MediaRecorder and some exporters use the EXIF name). Values are strings in the file.
_FOCAL_35MM_KEYS = ("com.apple.quicktime.camera.focal_length.35mm_equivalent", "FocalLengthIn35mmFormat",
                    "focal_length_35mm", "com.android.camera.focal_length_35mm")
_LENS_KEYS = ("com.apple.quicktime.camera.lens_model", "com.apple.quicktime.lens_model", "LensModel", "lens_model")
_MAKE_KEYS = ("com.apple.quicktime.make", "make", "com.android.manufacturer")
_MODEL_KEYS = ("com.apple.quicktime.model", "model", "com.android.model")


def camera_metadata(path: str | Path) -> dict:
    """What the container says about the camera: {"focal_length_35mm": float | None, "lens_model", "make",
    "model": str | None, "rotation_deg": clockwise quarter turns to upright (0/90/180/270), "tags_read": [...]}.

    Reads the format-level and video-stream tags (no decoding beyond the first frame, for the display
    matrix). Missing tags give None; a file that does not open raises InputError like probe_video.
    """
    container, stream = _open(path)
    with container:
        tags = {**{str(k): str(v) for k, v in (container.metadata or {}).items()},
                **{str(k): str(v) for k, v in (stream.metadata or {}).items()}}
        rotation = None
        try:
            for frame in container.decode(stream):
                rotation = _rotation_deg(frame)
                break
        except av.FFmpegError:
            rotation = None
    if rotation is None and tags.get("rotate", "").lstrip("-").isdigit():
        rotation = int(tags["rotate"]) % 360

    def first(keys):
        for k in keys:
            if tags.get(k):
                return k, tags[k]
        return None, None

    focal_key, focal = first(_FOCAL_35MM_KEYS)
    try:
        focal_mm = float(str(focal).split()[0]) if focal is not None else None
    except ValueError:
        focal_mm = None
    lens_key, lens = first(_LENS_KEYS)
    make_key, make = first(_MAKE_KEYS)
    model_key, model = first(_MODEL_KEYS)
    return {"focal_length_35mm": focal_mm, "lens_model": lens, "make": make, "model": model,
            "rotation_deg": rotation, "tags_read": [k for k in (focal_key, lens_key, make_key, model_key) if k]}
