"""A corpus of broken and awkward clips, generated on the spot with PyAV (small and fast, nothing downloaded).

`broken_corpus(folder)` writes every clip FormScout must refuse with one clear
line (name -> (path, what the error must say)); `awkward_corpus(folder)` the
odd-but-valid ones it must accept (name -> (path, expected facts)). The 4K
10-minute case is two files: a real 3840x2160 H.264 stream whose three frames
are 5 minutes apart (the duration check, 26 kB), and a 4 GB sparse file named
.mp4 (the size check, which refuses it before reading a byte; no disk used).
Used by tests/agent/test_broken_inputs.py and benchmarks/bench_bad_inputs.py.
"""
from __future__ import annotations

import io
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tools.video.clip import write_video

MS = Fraction(1, 1000)


def _frames(n: int, w: int = 64, h: int = 64) -> list[np.ndarray]:
    return [np.full((h, w, 3), (i * 23) % 250, np.uint8) for i in range(n)]


def _write_timed(path: Path, pts_ms: list[int], size: tuple[int, int] = (64, 64), rotation_ccw: float = 0.0,
                 codec: str = "libx264") -> Path:
    """An H.264 mp4 whose frames carry exactly these presentation times (ms)."""
    w, h = size
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=30)
        s.width, s.height, s.pix_fmt, s.time_base = w, h, "yuv420p", MS
        s.codec_context.time_base = MS          # keep millisecond timestamps through the encoder
        if codec == "libx264":
            s.options = {"preset": "ultrafast"}
        if rotation_ccw:
            s.set_display_rotation(rotation_ccw)
        for i, pt in enumerate(pts_ms):
            f = av.VideoFrame.from_ndarray(np.full((h, w, 3), (i * 37) % 250, np.uint8), format="rgb24")
            f.pts, f.time_base = pt, MS
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _no_faststart(path: Path, n: int = 45) -> Path:
    """An mp4 with its index (moov) at the end, as many cameras write it."""
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        s.options = {"preset": "ultrafast"}
        for arr in _frames(n):
            for p in s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def broken_corpus(folder: Path) -> dict[str, tuple[Path, str]]:
    """Clips every command must refuse: name -> (file, a phrase its one-line error contains)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = write_video(folder / "_good.mp4", _frames(45), fps=30)
    data = good.read_bytes()
    cases: dict[str, tuple[Path, str]] = {}

    def put(name: str, payload: bytes, needle: str) -> None:
        p = folder / name
        p.write_bytes(payload)
        cases[p.stem] = (p, needle)

    put("zero_bytes.mp4", b"", "empty file")
    put("truncated_half.mp4", data[: len(data) // 2], "corrupt")
    moov_last = _no_faststart(folder / "_moov_last.mp4").read_bytes()
    put("truncated_moov_at_end.mp4", moov_last[: len(moov_last) // 2], "not a readable video")
    put("text_named_mp4.mp4", b"clip_id,athlete_id\nc1,A1\n" * 20, "not a readable video")
    png = io.BytesIO()
    import cv2
    ok, enc = cv2.imencode(".png", np.zeros((64, 64, 3), np.uint8))
    png.write(enc.tobytes())
    put("png_named_mp4.mp4", png.getvalue(), "still image")
    put("video_named_npz.npz", data, "cannot read skeleton")
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("xyz.npy", b"not an array")
    put("zip_named_npz.npz", zbuf.getvalue(), "skeleton")
    put("npz_named_mp4.mp4", zbuf.getvalue(), "not a readable video")
    with av.open(str(folder / "audio_only.mp4"), "w") as c:
        s = c.add_stream("aac", rate=16000)
        fr = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.float32), format="fltp", layout="mono")
        fr.sample_rate, fr.pts = 16000, 0
        for p in s.encode(fr):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    cases["audio_only"] = (folder / "audio_only.mp4", "no video stream")
    cases["one_frame"] = (write_video(folder / "one_frame.mp4", _frames(1), fps=30), "shorter than")
    cases["4k_10_minutes"] = (_write_timed(folder / "4k_10_minutes.mp4", [0, 300_000, 600_000], (3840, 2160)),
                              "longer than the 120 s maximum")
    sparse = folder / "4k_10_minutes_4gb.mp4"
    with open(sparse, "wb") as fh:
        fh.truncate(4 * 1024 ** 3)                   # sparse: the size check refuses it without reading
    cases["4k_10_minutes_4gb"] = (sparse, "over the 500 MB limit")
    rng = np.random.default_rng(0)
    vfr = np.cumsum(rng.integers(5, 150, size=90)).tolist()
    cases["variable_frame_rate"] = (_write_timed(folder / "variable_frame_rate.mp4", [0] + vfr), "variable frame rate")
    cases["rotated_45"] = (_write_timed(folder / "rotated_45.mp4", list(range(0, 1500, 33)), rotation_ccw=45.0),
                           "no quarter turn")
    cases["tiny_16x16"] = (_write_timed(folder / "tiny_16x16.mp4", list(range(0, 1500, 33)), (16, 16)),
                           "too small")
    for tmp in (good, folder / "_moov_last.mp4"):
        tmp.unlink()
    return cases


def awkward_corpus(folder: Path) -> dict[str, tuple[Path, dict]]:
    """Odd but valid clips: name -> (file, facts probe_video must report)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "rotated_90": (write_video(folder / "rotated_90.mp4", _frames(45, 80, 48), fps=30, rotation_deg=90),
                       {"rotation_deg": 90, "width": 48, "height": 80}),
        "odd_size_65x49": (write_video(folder / "odd_size.mp4", _frames(45, 65, 49), fps=30),
                           {"width": 66, "height": 50}),
        "mild_vfr": (_write_timed(folder / "mild_vfr.mp4", np.cumsum([33 + (i % 3) for i in range(60)]).tolist()),
                     {"n_frames": 60}),
        "ntsc_29_97": (write_video(folder / "ntsc.mp4", _frames(45), fps=30000 / 1001), {"n_frames": 45}),
    }
