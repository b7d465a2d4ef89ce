"""tools/video/clip.py decoding for speed: frame ranges, decoding ahead in a thread, one probe per clip."""
from __future__ import annotations

import numpy as np
import pytest

from tools.core.errors import InputError
from tools.video.clip import decode_ahead, iter_frames, probe_video, write_video


def _frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    out = []
    for i in range(n):
        f = np.full((h, w, 3), 40, np.uint8)
        f[10:22, (i * 3) % (w - 12):(i * 3) % (w - 12) + 12] = 250
        out.append(f)
    return out


@pytest.fixture
def clip(tmp_path):
    return write_video(tmp_path / "clip.mp4", _frames(30), fps=15.0)


def test_a_frame_range_is_the_same_frames_as_the_whole_clip(clip):
    whole = list(iter_frames(clip))
    assert len(whole) == 30
    part = list(iter_frames(clip, start=7, stop=19))
    assert len(part) == 12 and all(np.array_equal(a, b) for a, b in zip(whole[7:19], part))
    strided = list(iter_frames(clip, every_nth=3, start=2, max_frames=6))   # frames 6, 9, 12, 15
    assert len(strided) == 4 and np.array_equal(strided[0], whole[6]) and np.array_equal(strided[-1], whole[15])
    assert list(iter_frames(clip, start=40)) == [] and list(iter_frames(clip, stop=0)) == []
    with pytest.raises(InputError):
        list(iter_frames(clip, start=5, stop=2))


def test_decoding_ahead_gives_every_frame_in_order_and_stops_when_left_early(clip):
    whole = list(iter_frames(clip))
    with decode_ahead(clip, depth=2) as frames:
        ahead = list(frames)
    assert len(ahead) == len(whole) and all(np.array_equal(a, b) for a, b in zip(whole, ahead))
    with decode_ahead(clip, depth=1) as frames:
        first = next(frames)
    assert np.array_equal(first, whole[0])          # leaving after one frame joins the thread, no hang


def test_a_decoding_error_reaches_the_consumer(tmp_path):
    bad = tmp_path / "not_a_video.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError):
        with decode_ahead(bad) as frames:
            list(frames)


def test_a_clip_is_probed_once_and_each_callers_limits_still_apply(clip, monkeypatch):
    import tools.video.clip as clip_module
    probe_video.cache_clear()
    calls = []
    real_open = clip_module._open
    monkeypatch.setattr(clip_module, "_open", lambda path: calls.append(path) or real_open(path))
    first = probe_video(clip)
    opened = len(calls)
    again = probe_video(clip, min_duration_s=0.0, max_duration_s=float("inf"), max_size_mb=float("inf"))
    assert again == first and len(calls) == opened                     # facts remembered, no new demux
    again.fps = -1.0                                                   # callers get copies
    assert probe_video(clip).fps == first.fps
    with pytest.raises(InputError, match="longer than the 1 s maximum"):
        probe_video(clip, max_duration_s=1.0)                          # 2 s clip: the caller's limit holds
    write_video(clip, _frames(20), fps=15.0)                           # a new file version is probed again
    assert probe_video(clip).n_frames == 20
