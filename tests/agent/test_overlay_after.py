"""The overlay off the verdict's critical path: render_overlay(when="after") leaves a job, drawn afterwards."""
from __future__ import annotations

import json

import numpy as np
import pytest

from agent.screening.steps import (
    OVERLAY_JOB_FILE,
    render_overlay,
    render_pending_overlay,
)
from tools.core.errors import InputError
from tools.core.skeleton import JOINTS, Skeleton
from tools.video.clip import write_video


def test_the_overlay_job_is_planned_then_drawn(tmp_path):
    n = 20
    uv = np.tile(np.linspace([100, 40], [140, 200], len(JOINTS))[None], (n, 1, 1)).astype(np.float32)
    xyz = np.zeros((n, len(JOINTS), 3), np.float32)
    skel = Skeleton(xyz=xyz, conf=np.ones((n, len(JOINTS)), np.float32), fps=20.0, uv=uv, image_size=(240, 240))
    path = skel.save(tmp_path / "skeleton.npz")
    video = write_video(tmp_path / "clip.mp4", [np.full((240, 240, 3), 80, np.uint8)] * n, fps=20.0)
    planned = render_overlay(str(path), str(tmp_path), "deep_squat", video_path=str(video), when="after")
    assert planned["rendered"] == "after the verdict" and planned["n_frames"] == n
    assert not (tmp_path / "overlay.mp4").exists() and (tmp_path / OVERLAY_JOB_FILE).is_file()
    drawn = render_pending_overlay(str(tmp_path))
    assert drawn["overlay_mp4"] == planned["overlay_mp4"] and (tmp_path / "overlay.mp4").is_file()
    assert not (tmp_path / OVERLAY_JOB_FILE).exists() and render_pending_overlay(str(tmp_path)) is None
    assert json.loads(json.dumps(planned))     # the step's result stays plain JSON for the trace
    with pytest.raises(InputError):
        render_overlay(str(path), str(tmp_path), "deep_squat", when="later")
