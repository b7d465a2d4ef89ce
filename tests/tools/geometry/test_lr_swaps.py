"""Left/right swap repair: finds the bursts a pose backend swaps, touches nothing else."""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import MIRROR_INDEX
from tools.geometry.lr_swaps import repair_lr_swaps
from tools.synth.library import make_sample, truth_skeleton


def _clip():
    return truth_skeleton(make_sample("shoulder_mobility", seed=6, score=2, side="L"))


def test_a_swapped_burst_is_put_back_and_a_clean_clip_is_left_alone():
    skel = _clip()
    fixed, frames = repair_lr_swaps(skel)
    assert frames == [] and np.array_equal(fixed.xyz, skel.xyz)
    xyz = skel.xyz.copy()
    xyz[40:43] = skel.xyz[40:43][:, MIRROR_INDEX]
    xyz[90:91] = skel.xyz[90:91][:, MIRROR_INDEX]
    fixed, frames = repair_lr_swaps(skel.replace(xyz=xyz))
    assert frames == [40, 41, 42, 90]
    np.testing.assert_allclose(fixed.xyz, skel.xyz)


def test_smoothing_across_an_unrepaired_swap_merges_the_fists():
    """Why the repair runs before smoothing: the shoulder-mobility fist gap collapses otherwise."""
    skel = _clip()
    xyz = skel.xyz.copy()
    hold = int(np.argmin(np.linalg.norm(skel.xyz[:, 21] - skel.xyz[:, 22], axis=-1)))
    xyz[hold - 1:hold + 2] = skel.xyz[hold - 1:hold + 2][:, MIRROR_INDEX]
    swapped = skel.replace(xyz=xyz)
    gap = lambda s: np.nanmin(np.linalg.norm(s.xyz[:, 21] - s.xyz[:, 22], axis=-1))   # noqa: E731
    merged = swapped.smoothed(window_s=0.2)
    repaired = repair_lr_swaps(swapped)[0].smoothed(window_s=0.2)
    assert gap(merged) < 0.5 * gap(skel)
    assert abs(gap(repaired) - gap(skel.smoothed(window_s=0.2))) < 1e-3
