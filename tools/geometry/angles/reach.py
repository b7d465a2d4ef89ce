"""Shoulder mobility: the fist gap and the hand length it is counted in (conventions: tools.geometry.angles)."""
from __future__ import annotations

import numpy as np

from tools.core.skeleton import Skeleton


# Hand length from the forearm: hand (wrist crease to middle fingertip) / forearm (elbow to wrist)
# = 0.108 / 0.146 of stature in the Drillis & Contini segment table (Winter), i.e. 0.74.
HAND_TO_FOREARM_RATIO = 0.74


def estimated_hand_length_m(s: Skeleton) -> float:
    """Hand length estimated as 0.74 x the median forearm length of both arms (NaN if unseen)."""
    fore = np.concatenate([np.linalg.norm(s.joint(f"{side}_wrist") - s.joint(f"{side}_elbow"), axis=-1)
                           for side in ("left", "right")])
    fore = fore[np.isfinite(fore)]
    return float(HAND_TO_FOREARM_RATIO * np.median(fore)) if fore.size else float("nan")


def fist_gap(s: Skeleton) -> np.ndarray:
    return np.linalg.norm(s.joint("left_hand") - s.joint("right_hand"), axis=-1)


def fist_gap_hand_lengths(s: Skeleton) -> np.ndarray:
    return fist_gap(s) / estimated_hand_length_m(s)
