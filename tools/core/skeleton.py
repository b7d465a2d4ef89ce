"""The canonical Skeleton: the one interface every FormScout tool shares.

23 named joints (COCO-17 + heels, toes and fist centres), left/right are the
athlete's own. Coordinates: `xyz` in metres, right-handed, y axis up
(x to the camera's right, z towards the camera for a camera-frame skeleton).
NaN marks a joint that was not seen in that frame.

File format (.npz), exactly as docs/LABELS.md states:
  joints      str[J]            joint names in canonical order
  xyz         float32[T, J, 3]  metres, y up
  conf        float32[T, J]     0-1
  fps         float
  uv          float32[T, J, 2]  optional, pixels (x right, y down)
  image_size  int[2]            optional, (width, height) in pixels
  meta        JSON string       source, backend, versions, ...
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.core.errors import InputError

JOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_toe", "right_toe",
    "left_hand", "right_hand",
)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINTS)}

# Bones of the joint graph (used by the ST-GCN adjacency and the overlay).
BONES: tuple[tuple[str, str], ...] = (
    ("nose", "left_eye"), ("nose", "right_eye"),
    ("left_eye", "left_ear"), ("right_eye", "right_ear"),
    ("nose", "left_shoulder"), ("nose", "right_shoulder"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("left_wrist", "left_hand"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"), ("right_wrist", "right_hand"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("left_ankle", "left_heel"), ("left_ankle", "left_toe"), ("left_heel", "left_toe"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("right_ankle", "right_heel"), ("right_ankle", "right_toe"), ("right_heel", "right_toe"),
)


def _mirror_index() -> np.ndarray:
    """Index that swaps every left_* joint with its right_* partner."""
    out = []
    for name in JOINTS:
        if name.startswith("left_"):
            out.append(JOINT_INDEX["right_" + name[5:]])
        elif name.startswith("right_"):
            out.append(JOINT_INDEX["left_" + name[6:]])
        else:
            out.append(JOINT_INDEX[name])
    return np.asarray(out)


MIRROR_INDEX: np.ndarray = _mirror_index()


@dataclass
class Skeleton:
    """A canonical skeleton clip. Shapes: xyz [T, J, 3] metres, conf [T, J]."""

    xyz: np.ndarray
    conf: np.ndarray
    fps: float
    uv: np.ndarray | None = None
    image_size: tuple[int, int] | None = None
    meta: dict = field(default_factory=dict)
    joints: tuple[str, ...] = JOINTS

    def __post_init__(self) -> None:
        self.xyz = np.asarray(self.xyz, dtype=np.float32)
        self.conf = np.asarray(self.conf, dtype=np.float32)
        if tuple(self.joints) != JOINTS:
            raise InputError(
                f"skeleton joints {list(self.joints)[:5]}... are not the canonical 23 joints; "
                "convert it with a FormScout pose backend first")
        if self.xyz.ndim != 3 or self.xyz.shape[1:] != (len(JOINTS), 3):
            raise InputError(f"skeleton xyz must have shape [T, {len(JOINTS)}, 3], got {self.xyz.shape}")
        if self.conf.shape != self.xyz.shape[:2]:
            raise InputError(f"skeleton conf must have shape {self.xyz.shape[:2]}, got {self.conf.shape}")
        if not (self.fps and self.fps > 0):
            raise InputError(f"skeleton fps must be positive, got {self.fps}")
        self.fps = float(self.fps)
        if self.uv is not None:
            self.uv = np.asarray(self.uv, dtype=np.float32)
            if self.uv.shape != self.xyz.shape[:2] + (2,):
                raise InputError(f"skeleton uv must have shape {self.xyz.shape[:2] + (2,)}, got {self.uv.shape}")
        if self.image_size is not None:
            self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    # ----- basic facts -------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps

    def joint(self, name: str) -> np.ndarray:
        """[T, 3] positions of one joint (metres)."""
        return self.xyz[:, JOINT_INDEX[name]]

    def joint_uv(self, name: str) -> np.ndarray:
        if self.uv is None:
            raise InputError("this skeleton has no image coordinates (uv)")
        return self.uv[:, JOINT_INDEX[name]]

    # ----- file format --------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = dict(joints=np.asarray(JOINTS), xyz=self.xyz, conf=self.conf,
                      fps=np.float64(self.fps), meta=np.asarray(json.dumps(self.meta, default=str)))
        if self.uv is not None:
            arrays["uv"] = self.uv
        if self.image_size is not None:
            arrays["image_size"] = np.asarray(self.image_size, dtype=np.int64)
        # Write beside the target and rename, so a crash never leaves half a file.
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Skeleton":
        path = Path(path)
        if not path.exists():
            raise InputError(f"skeleton file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = {"joints", "xyz", "conf", "fps"} - set(data.files)
                if missing:
                    raise InputError(f"{path} is not a FormScout skeleton: missing {sorted(missing)}")
                meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
                return cls(
                    xyz=data["xyz"], conf=data["conf"], fps=float(data["fps"]),
                    uv=data["uv"] if "uv" in data.files else None,
                    image_size=tuple(int(v) for v in data["image_size"]) if "image_size" in data.files else None,
                    meta=meta, joints=tuple(str(j) for j in data["joints"]),
                )
        except InputError:
            raise
        except Exception as exc:  # zipfile/ValueError/json errors all mean "unreadable"
            raise InputError(f"cannot read skeleton {path}: {exc}. Re-export it with `formscout screen`.") from exc

    # ----- transforms (each returns a new Skeleton) --------------------
    def replace(self, **changes) -> "Skeleton":
        fields = dict(xyz=self.xyz, conf=self.conf, fps=self.fps, uv=self.uv,
                      image_size=self.image_size, meta=dict(self.meta))
        fields.update(changes)
        return Skeleton(**fields)

    def mirrored(self) -> "Skeleton":
        """Left<->right mirror: negate x and swap left/right joints.

        A left hurdle step mirrored is a right hurdle step with the same geometry.
        """
        xyz = self.xyz[:, MIRROR_INDEX].copy()
        xyz[..., 0] *= -1
        uv = None
        if self.uv is not None:
            uv = self.uv[:, MIRROR_INDEX].copy()
            width = self.image_size[0] if self.image_size else np.nanmax(uv[..., 0])
            uv[..., 0] = width - uv[..., 0]
        meta = dict(self.meta, mirrored=not self.meta.get("mirrored", False))
        return self.replace(xyz=xyz, conf=self.conf[:, MIRROR_INDEX], uv=uv, meta=meta)

    def resampled(self, fps: float) -> "Skeleton":
        """Linear resampling in time to `fps` (NaNs stay NaN where either neighbour is NaN)."""
        if fps <= 0:
            raise InputError(f"resample fps must be positive, got {fps}")
        t_old = np.arange(self.n_frames) / self.fps
        n_new = max(1, int(round(self.duration_s * fps)))
        t_new = np.clip(np.arange(n_new) / fps, 0, t_old[-1])

        from scipy.interpolate import interp1d   # here, not at import: scipy costs ~1 s of CLI start-up

        def interp(a: np.ndarray) -> np.ndarray:
            if self.n_frames == 1:
                return np.repeat(a, n_new, axis=0)
            return interp1d(t_old, a, axis=0, assume_sorted=True)(t_new).astype(np.float32)

        return self.replace(xyz=interp(self.xyz), conf=interp(self.conf), fps=fps,
                            uv=None if self.uv is None else interp(self.uv))

    def filled(self, max_gap_frames: int = 5) -> "Skeleton":
        """Fill dropouts of at most `max_gap_frames` by linear interpolation, per joint.

        Longer gaps stay NaN: a guess over a long gap would be an invented measurement.
        """
        xyz = _fill_gaps(self.xyz, max_gap_frames)
        uv = None if self.uv is None else _fill_gaps(self.uv, max_gap_frames)
        return self.replace(xyz=xyz, uv=uv)

    def smoothed(self, window_s: float = 0.25, polyorder: int = 2) -> "Skeleton":
        """Savitzky-Golay smoothing of each joint trajectory (NaN runs are left untouched)."""
        window = int(round(window_s * self.fps)) | 1  # odd length
        if window <= polyorder + 1:
            return self.replace()
        return self.replace(xyz=_savgol_nan(self.xyz, window, polyorder),
                            uv=None if self.uv is None else _savgol_nan(self.uv, window, polyorder))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in a 1-D boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2]))


def _fill_gaps(a: np.ndarray, max_gap: int) -> np.ndarray:
    out = a.copy()
    t = np.arange(a.shape[0])
    for j in range(a.shape[1]):
        missing = np.isnan(a[:, j]).any(axis=-1)
        if not missing.any() or missing.all():
            continue
        for start, stop in _runs(missing):
            if start == 0 or stop == a.shape[0] or stop - start > max_gap:
                continue
            for c in range(a.shape[2]):
                out[start:stop, j, c] = np.interp(t[start:stop], [start - 1, stop], [a[start - 1, j, c], a[stop, j, c]])
    return out


def _savgol_nan(a: np.ndarray, window: int, polyorder: int) -> np.ndarray:
    from scipy.signal import savgol_filter   # here, not at import: scipy costs ~1 s of CLI start-up
    out = a.copy()
    for j in range(a.shape[1]):
        ok = ~np.isnan(a[:, j]).any(axis=-1)
        for start, stop in _runs(ok):
            if stop - start >= window:
                out[start:stop, j] = savgol_filter(a[start:stop, j], window, polyorder, axis=0)
    return out
