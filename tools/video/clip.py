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


def probe_video(path: str | Path, *, min_duration_s: float = VideoLimits.min_duration_s,
                max_duration_s: float = VideoLimits.max_duration_s,
                max_size_mb: float = VideoLimits.max_size_mb) -> VideoInfo:
    """Validate a clip and return its facts; raise InputError saying what to do if it is unusable.

    Checks, in order: exists, is a file, size <= max_size_mb, opens as a media
    container, is not a still image, has a video stream, the first frames
    decode, every packet demuxes, as many packets as the header promises (else
    "truncated"), the last group of pictures decodes (skipped for formats that
    cannot seek, e.g. a raw .h264 stream), min_duration_s <= duration <= max_duration_s.
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


def iter_frames(path: str | Path, *, max_frames: int | None = None, every_nth: int = 1) -> Iterator[np.ndarray]:
    """Yield upright RGB uint8 frames [H, W, 3]: frames 0, n, 2n, ... (at most `max_frames` of them).

    Does not re-validate the clip: call `probe_video` first for user input.
    A decoding error part-way raises InputError after the good frames were yielded.
    """
    if every_nth < 1:
        raise InputError(f"every_nth must be >= 1, got {every_nth}")
    if max_frames is not None and max_frames < 0:
        raise InputError(f"max_frames must be >= 0 or None, got {max_frames}")
    if max_frames == 0:
        return
    container, stream = _open(path)
    with container:
        yielded = 0
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i % every_nth:
                    continue
                yield _upright(frame)
                yielded += 1
                if max_frames is not None and yielded >= max_frames:
                    return
        except av.FFmpegError as exc:
            raise InputError(f"{path} is corrupt: decoding failed after {yielded} frames "
                             f"({exc.strerror or exc}); copy or export the clip again") from exc


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
