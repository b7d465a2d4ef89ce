"""tools/video/clip.py: writing, probing, bad inputs, rotation, frame reading."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tools.core.errors import InputError
from tools.video.clip import VideoInfo, VideoLimits, iter_frames, probe_video, read_frame, write_video



def _frames(n: int, w: int = 64, h: int = 48, seed: int = 0, noise: float = 40.0) -> list[np.ndarray]:
    """Frames with a moving bright square (so each frame is distinct) over a gradient plus noise."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 120, w)[None, :, None]
    out = []
    for i in range(n):
        f = (ramp + rng.random((h, w, 3)) * noise).astype(np.uint8)
        x = (i * 3) % (w - 12)
        f[10:22, x:x + 12] = (250, 250, 250)
        out.append(f)
    return out


def _noisy(n: int, w: int = 96, h: int = 64) -> list[np.ndarray]:
    """Incompressible frames, so the file is big enough to cut in half meaningfully."""
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_video(tmp_path / "clip.mp4", _frames(45), fps=15.0)


# ----------------------------------------------------------------- writing + probing
def test_probe_reports_the_facts_of_a_written_clip(clip):
    info = probe_video(clip)
    assert isinstance(info, VideoInfo)
    assert info.fps == pytest.approx(15.0)
    assert info.n_frames == 45
    assert info.duration_s == pytest.approx(3.0, abs=1e-3)
    assert (info.width, info.height) == (64, 48)
    assert info.rotation_deg == 0
    assert info.codec == "h264"
    assert info.size_bytes == clip.stat().st_size
    assert info.to_dict()["n_frames"] == 45


def test_written_video_is_h264_yuv420p_with_faststart(clip):
    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264"
        assert s.codec_context.pix_fmt == "yuv420p"
    data = clip.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "moov atom must precede mdat so browsers stream it"


def test_odd_sizes_are_padded_to_even_and_no_temp_file_is_left(tmp_path):
    out = write_video(tmp_path / "odd.mp4", _frames(20, w=63, h=47), fps=20)
    info = probe_video(out, min_duration_s=0.5)
    assert (info.width, info.height) == (64, 48)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.mp4"]


def test_frames_round_trip_close_to_the_originals(tmp_path):
    src = _frames(30, noise=0.0)  # per-pixel noise does not survive 4:2:0 chroma subsampling
    out = write_video(tmp_path / "rt.mp4", src, fps=30, crf=10)
    got = list(iter_frames(out))
    assert len(got) == 30
    assert got[0].dtype == np.uint8 and got[0].shape == (48, 64, 3)
    err = np.mean([np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(src, got)])
    assert err < 3.0
    # the moving square is where it was drawn
    assert got[7][16, 7 * 3 + 6].min() > 200


def test_write_video_rejects_bad_frames(tmp_path):
    with pytest.raises(InputError, match="RGB uint8"):
        write_video(tmp_path / "f.mp4", [np.zeros((8, 8, 3), np.float32)], fps=10)
    with pytest.raises(InputError, match="no frames"):
        write_video(tmp_path / "e.mp4", [], fps=10)
    with pytest.raises(InputError, match="share one size"):
        write_video(tmp_path / "s.mp4", [np.zeros((8, 8, 3), np.uint8), np.zeros((10, 8, 3), np.uint8)], fps=10)
    assert list(tmp_path.iterdir()) == []


def test_iter_frames_every_nth_and_max_frames_and_read_frame(clip):
    every = list(iter_frames(clip))
    third = list(iter_frames(clip, every_nth=3))
    assert len(third) == 15
    assert np.array_equal(third[2], every[6])
    assert len(list(iter_frames(clip, max_frames=4))) == 4
    assert len(list(iter_frames(clip, every_nth=2, max_frames=5))) == 5
    for i in (0, 1, 22, 44):
        assert np.array_equal(read_frame(clip, i), every[i])
    with pytest.raises(InputError, match="past the end"):
        read_frame(clip, 45)


def test_limits_dataclass_feeds_probe(clip):
    limits = VideoLimits(min_duration_s=4.0)
    assert VideoLimits().to_dict() == {"min_duration_s": 1.0, "max_duration_s": 120.0, "max_size_mb": 500.0}
    with pytest.raises(InputError, match="shorter"):
        probe_video(clip, **limits.to_dict())


# ----------------------------------------------------------------- bad inputs
def _truncated_faststart(tmp: Path) -> Path:
    data = write_video(tmp / "full.mp4", _noisy(60), fps=30).read_bytes()
    out = tmp / "truncated.mp4"
    out.write_bytes(data[: len(data) // 2])
    return out


def _truncated_moov_at_end(tmp: Path) -> Path:
    """An mp4 written without faststart (index at the end, like most cameras), cut in half."""
    full = tmp / "cam.mp4"
    with av.open(str(full), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        for f in _noisy(60):
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    out = tmp / "cam_cut.mp4"
    out.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return out


def _garbage_payload(tmp: Path) -> Path:
    """Valid container and index, but the compressed frames are noise: nothing decodes."""
    data = bytearray(write_video(tmp / "ok.mp4", _noisy(45), fps=30).read_bytes())
    start = data.find(b"mdat") + 8
    data[start:] = np.random.default_rng(2).integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    out = tmp / "garbage.mp4"
    out.write_bytes(bytes(data))
    return out


def _audio_only(tmp: Path) -> Path:
    out = tmp / "voice.m4a"
    with av.open(str(out), "w") as c:
        s = c.add_stream("aac", rate=16000)
        for k in range(20):
            fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            fr.sample_rate, fr.pts = 16000, k * 1024
            for p in s.encode(fr):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return out


def _text(tmp: Path) -> Path:
    out = tmp / "notes.mp4"  # a video suffix does not make it a video
    out.write_text("squat felt fine\n" * 20)
    return out


def _png(tmp: Path) -> Path:
    out = tmp / "photo.png"
    cv2.imwrite(str(out), np.zeros((40, 60, 3), np.uint8))
    return out


def _short(tmp: Path) -> Path:
    return write_video(tmp / "short.mp4", _frames(10), fps=30)  # 0.33 s


def _empty(tmp: Path) -> Path:
    out = tmp / "empty.mp4"
    out.write_bytes(b"")
    return out


BAD_INPUTS = {
    # case: (maker, probe kwargs, words the message must contain)
    "missing": (lambda t: t / "nope.mp4", {}, ["not found", "check the path"]),
    "directory": (lambda t: t, {}, ["folder", "one clip inside"]),
    "empty": (_empty, {}, ["empty", "export the clip again"]),
    "text": (_text, {}, ["not a readable video", "export or re-record"]),
    "png": (_png, {}, ["still image", "export or re-record"]),
    "audio_only": (_audio_only, {}, ["no video stream", "audio"]),
    "truncated": (_truncated_faststart, {}, ["truncated", "60 frames", "copy the full clip again"]),
    "truncated_index_at_end": (_truncated_moov_at_end, {}, ["truncated", "export or re-record"]),
    "no_decodable_frames": (_garbage_payload, {}, ["none of its frames decode", "export the clip again"]),
    "too_short": (_short, {}, ["shorter than the 1 s minimum", "film the whole test"]),
    "too_long": (lambda t: write_video(t / "long.mp4", _frames(45), fps=15), {"max_duration_s": 2.0},
                 ["longer than the 2 s maximum", "trim"]),
    "too_big": (lambda t: write_video(t / "big.mp4", _noisy(30), fps=15), {"max_size_mb": 0.01},
                ["over the 0.01 MB limit", "trim"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_a_helpful_input_error(tmp_path, case):
    make, kwargs, words = BAD_INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(InputError) as err:
        probe_video(path, **kwargs)
    message = str(err.value)
    assert str(path) in message, "the message must name the file"
    for word in words:
        assert word in message
    assert isinstance(err.value, ValueError)


def test_iter_frames_rejects_unreadable_input_too(tmp_path):
    with pytest.raises(InputError, match="not found"):
        next(iter_frames(tmp_path / "nope.mp4"))
    with pytest.raises(InputError, match="still image"):
        next(iter_frames(_png(tmp_path)))


# ----------------------------------------------------------------- rotation
def _marker_frame(w: int = 80, h: int = 48) -> np.ndarray:
    f = np.zeros((h, w, 3), np.uint8)
    f[:16, :24] = (255, 0, 0)  # red block, top-left of the stored picture
    return f


def _red_centroid(rgb: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero((rgb[..., 0] > 150) & (rgb[..., 1] < 100))
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_clips_come_out_upright(tmp_path, rotation):
    """A phone portrait clip is stored landscape plus a display matrix; frames must come out upright.

    OpenCV (its own FFmpeg build, auto-orientation on) is the independent reference for "upright".
    """
    path = write_video(tmp_path / f"rot{rotation}.mp4", [_marker_frame()] * 20, fps=20, crf=5,
                       rotation_deg=rotation)
    info = probe_video(path)
    assert info.rotation_deg == rotation
    assert (info.width, info.height) == ((48, 80) if rotation in (90, 270) else (80, 48))

    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_ORIENTATION_META) == rotation  # OpenCV reads the same tag
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    ok, ref_bgr = cap.read()
    cap.release()
    assert ok
    ref = cv2.cvtColor(ref_bgr, cv2.COLOR_BGR2RGB)

    ours = next(iter_frames(path))
    assert ours.shape == ref.shape == (info.height, info.width, 3)
    assert np.allclose(_red_centroid(ours), _red_centroid(ref), atol=1.0)
    # and it is the clockwise rotation the tag asks for
    expected = np.rot90(_marker_frame(), k=-rotation // 90)
    assert np.allclose(_red_centroid(ours), _red_centroid(expected), atol=1.0)
    assert np.array_equal(read_frame(path, 5).shape, ours.shape)


# ----------------------------------------------------------------- real footage
def test_real_demo_clip_probe(sports2d_clip):
    info = probe_video(sports2d_clip)
    assert (info.n_frames, info.width, info.height, info.rotation_deg) == (230, 1768, 994, 0)
    assert info.fps == pytest.approx(30.0)
    assert info.duration_s == pytest.approx(230 / 30, abs=0.05)
    assert read_frame(sports2d_clip, 185).shape == (994, 1768, 3)  # seeks to the keyframe at 180


def test_raw_h264_stream_without_timestamps_probes_and_reads(tmp_path):
    """A raw .h264 elementary stream has no timestamps and cannot seek: probe and read_frame still work."""
    path = tmp_path / "raw.h264"
    src = _frames(40, noise=0.0)
    with av.open(str(path), "w", format="h264") as c:
        s = c.add_stream("libx264", rate=20)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for f in src:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    info = probe_video(path)
    # a raw stream carries no frame rate unless the encoder wrote VUI timing; FFmpeg then assumes 25
    assert info.n_frames == 40
    assert info.duration_s == pytest.approx(40 / info.fps)
    frames = list(iter_frames(path))
    assert len(frames) == 40
    assert np.array_equal(read_frame(path, 17), frames[17])
