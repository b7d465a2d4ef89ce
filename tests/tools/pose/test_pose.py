"""Pose backends: mapping tables, MediaPipe on real footage, YOLO plumbing with random weights."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from tools.core.errors import InputError
from tools.people.athlete_pose import estimate_pose
from tools.pose.backends import PoseBackend, PoseResult, get_backend
from tools.pose.mediapipe_pose import MEDIAPIPE_TO_CANONICAL, MP_LANDMARKS, MediaPipePoseBackend, map_landmarks
from tools.pose.yolo_pose import (COCO17, COCO17_TO_CANONICAL, HAND_FOREARM_RATIO, MISSING_IN_COCO17,
                             coco17_to_canonical, select_athlete)
from tools.core.skeleton import JOINT_INDEX as JI
from tools.core.skeleton import JOINTS


# ----- MediaPipe mapping -------------------------------------------------
def test_mediapipe_table_covers_every_canonical_joint_with_the_right_landmarks():
    assert set(MEDIAPIPE_TO_CANONICAL) == set(JOINTS)
    renamed = {"left_toe": "left_foot_index", "right_toe": "right_foot_index"}
    for name, idx in MEDIAPIPE_TO_CANONICAL.items():
        if name.endswith("_hand"):
            side = name.split("_")[0]
            assert [MP_LANDMARKS[i] for i in idx] == [f"{side}_index", f"{side}_pinky"]
        else:
            assert len(idx) == 1 and MP_LANDMARKS[idx[0]] == renamed.get(name, name)


def test_map_landmarks_known_values():
    pts = np.stack([np.arange(33), 10 * np.arange(33)], axis=1).astype(np.float32)  # landmark i at (i, 10 i)
    scores = np.linspace(0.1, 0.9, 33).astype(np.float32)
    uv, conf = map_landmarks(pts[None], scores[None])
    assert uv.shape == (1, 23, 2) and conf.shape == (1, 23)
    assert uv[0, JI["left_knee"]].tolist() == [25, 250]
    assert uv[0, JI["right_toe"]].tolist() == [32, 320]
    np.testing.assert_allclose(uv[0, JI["left_hand"]], [(19 + 17) / 2, 10 * (19 + 17) / 2])
    np.testing.assert_allclose(uv[0, JI["right_hand"]], [(20 + 18) / 2, 10 * (20 + 18) / 2])
    assert conf[0, JI["left_hand"]] == pytest.approx(scores[17])  # the lower of index and pinky
    assert conf[0, JI["nose"]] == pytest.approx(scores[0])


@pytest.mark.parametrize("complexity", [0, 2])
def test_lite_and_heavy_models_are_refused_without_download(complexity, monkeypatch):
    from mediapipe.python.solutions import download_utils

    def no_download(path):
        raise AssertionError(f"tried to download {path}")

    monkeypatch.setattr(download_utils, "download_oss_model", no_download)
    with pytest.raises(InputError, match="full"):
        MediaPipePoseBackend(model_complexity=complexity)


def test_get_backend_errors():
    with pytest.raises(InputError, match="unknown pose backend"):
        get_backend("openpose")
    with pytest.raises(InputError, match="pose-weights"):
        get_backend("mediapipe", weights="x.pt")
    assert isinstance(get_backend("mediapipe"), PoseBackend)


def test_estimate_pose_selection_arguments_are_checked(tmp_path):
    clip = Path(__file__).resolve().parents[3] / "tools" / "assets" / "demo_deep_squat.mp4"
    with pytest.raises(InputError, match="select must be"):
        estimate_pose(clip, select="largest")
    with pytest.raises(InputError, match="needs athlete selection"):
        estimate_pose(clip, select="off", athlete_box=(1, 2, 3, 4))
    with pytest.raises(InputError, match="pose-weights"):
        estimate_pose(clip, weights="x.pt")


def test_pose_result_rejects_wrong_shapes():
    with pytest.raises(ValueError):
        PoseResult(uv=np.zeros((2, 17, 2)), conf=np.zeros((2, 17)), world_xyz=None, image_size=(10, 10), fps=30)
    with pytest.raises(ValueError):
        PoseResult(uv=np.zeros((2, 23, 2)), conf=np.zeros((3, 23)), world_xyz=None, image_size=(10, 10), fps=30)


def test_mediapipe_on_blank_frames_finds_nobody():
    frames = [np.full((240, 320, 3), 128, np.uint8)] * 3
    res = MediaPipePoseBackend().process(frames, fps=30)
    assert res.n_frames == 3 and res.image_size == (320, 240)
    assert res.detection_share == 0 and np.isnan(res.uv).all() and (res.conf == 0).all()
    assert res.meta["model_complexity"] == 1 and len(res.meta["model_files"]) == 2
    assert res.meta["model_file"] == "pose_landmark_full.tflite" and len(res.meta["model_sha256"]) == 64


def test_mediapipe_finds_the_athlete_upright_on_real_footage(sports2d_clip):
    from tools.geometry.lift3d import to_skeleton

    res = estimate_pose(sports2d_clip, max_frames=40)
    assert res.n_frames == 40 and res.image_size == (1768, 994)
    assert res.detection_share >= 0.8
    seen = res.detected
    inside = (res.uv[seen] >= -50).all() and (res.uv[seen][..., 0] <= 1768 + 50).all()
    assert inside
    skel = to_skeleton(res, {"source": sports2d_clip.name})
    y = skel.xyz[seen][..., 1]
    # Upright: head above shoulders above hips above knees above ankles (y up), in every detected frame.
    order = ["nose", "left_shoulder", "left_hip", "left_knee", "left_ankle"]
    for upper, lower in zip(order, order[1:]):
        assert (y[:, JI[upper]] > y[:, JI[lower]]).mean() > 0.9, (upper, lower)
    assert skel.meta["measurement_plane"] == "3d" and skel.meta["backend"] == "mediapipe"


# ----- YOLO mapping and plumbing ----------------------------------------
def test_coco17_table():
    assert set(COCO17_TO_CANONICAL) | set(MISSING_IN_COCO17) | {"left_hand", "right_hand"} == set(JOINTS)
    for name, i in COCO17_TO_CANONICAL.items():
        assert COCO17[i] == name
    assert COCO17_TO_CANONICAL["left_shoulder"] == 5 and COCO17_TO_CANONICAL["right_ankle"] == 16


def test_coco17_to_canonical_known_values():
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = np.arange(17) * 10        # x = 10 i
    kp[:, 1] = 100 + np.arange(17)       # y = 100 + i
    kp[:, 2] = 0.9
    kp[7] = (100, 200, 0.8)              # left elbow
    kp[9] = (100, 250, 0.7)              # left wrist: forearm points straight down 50 px
    kp[3, 2] = 0.0                       # left ear unseen
    uv, conf = coco17_to_canonical(kp)
    assert uv.shape == (23, 2) and conf.shape == (23,)
    assert uv[JI["right_knee"]].tolist() == [140, 114]
    for name in MISSING_IN_COCO17:
        assert np.isnan(uv[JI[name]]).all() and conf[JI[name]] == 0
    assert np.isnan(uv[JI["left_ear"]]).all() and conf[JI["left_ear"]] == 0
    np.testing.assert_allclose(uv[JI["left_hand"]], [100, 250 + HAND_FOREARM_RATIO * 50])
    assert conf[JI["left_hand"]] == pytest.approx(0.7)
    # Batched input keeps its leading shape.
    uv_b, conf_b = coco17_to_canonical(np.stack([kp, kp]))
    assert uv_b.shape == (2, 23, 2) and conf_b.shape == (2, 23)


def test_select_athlete_largest_then_nearest():
    boxes = np.array([[0, 0, 10, 20], [100, 0, 200, 300]], float)  # small, large
    assert select_athlete(boxes, np.array([0.9, 0.6]), None) == 1
    # Tracked: previous athlete was the small one; it moved a little -> keep it.
    assert select_athlete(boxes + [2, 0, 2, 0], np.array([0.9, 0.6]), np.array([0, 0, 10, 20], float)) == 0
    # The previous box is far from everyone -> largest again.
    assert select_athlete(boxes, np.array([0.9, 0.6]), np.array([500, 500, 510, 520], float)) == 1
    assert select_athlete(np.zeros((0, 4)), np.zeros(0), None) is None


def test_yolo_needs_existing_weights(tmp_path):
    with pytest.raises(InputError, match="pose-weights"):
        get_backend("yolo")
    with pytest.raises(InputError, match="not found.*never downloads"):
        get_backend("yolo", weights=tmp_path / "yolo26n-pose.pt")
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot load"):
        get_backend("yolo", weights=bogus)


def _random_yolo(tmp_dir: Path, task: str) -> Path:
    """A random-weight YOLO26n model (pose: nc 1, 17 keypoints) saved as .pt, built offline from the yaml."""
    from tools.pose.yolo_pose import _import_yolo

    YOLO, _ = _import_yolo()
    import torch
    import ultralytics
    import yaml

    name = "yolo26-pose.yaml" if task == "pose" else "yolo26.yaml"
    cfg = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg/models/26" / name).read_text())
    cfg["nc"] = 1
    if task == "pose":
        cfg["kpt_shape"] = [17, 3]
    yaml_path = tmp_dir / name.replace("yolo26", "yolo26n")  # the "n" in the name picks the nano scale
    yaml_path.write_text(yaml.safe_dump(cfg))
    torch.manual_seed(0)
    weights = tmp_dir / f"random-{task}.pt"
    YOLO(str(yaml_path), task=task).save(weights)
    return weights


def test_yolo_random_weights_plumbing(tmp_path):
    from tools.geometry.lift3d import to_skeleton
    from tools.pose.yolo_pose import YoloPoseBackend

    weights = _random_yolo(tmp_path, "pose")
    backend = YoloPoseBackend(weights, imgsz=160, min_conf=0.0)  # random weights: accept any detection
    assert os.environ["YOLO_OFFLINE"] == "1"
    assert os.environ["YOLO_CONFIG_DIR"] == str(Path(os.environ["FORMSCOUT_HOME"]) / "ultralytics")
    from ultralytics.utils import SETTINGS
    assert SETTINGS["sync"] is False

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (120, 200, 3), dtype=np.uint8) for _ in range(5)]
    res = backend.process(frames, fps=25)
    assert res.uv.shape == (5, 23, 2) and res.conf.shape == (5, 23) and res.world_xyz is None
    assert res.image_size == (200, 120) and res.fps == 25
    assert res.detection_share == 1.0  # min_conf 0: the end-to-end head always proposes someone
    for name in MISSING_IN_COCO17:
        assert np.isnan(res.uv[:, JI[name]]).all() and (res.conf[:, JI[name]] == 0).all()
    w, e, h = res.uv[:, JI["right_wrist"]], res.uv[:, JI["right_elbow"]], res.uv[:, JI["right_hand"]]
    np.testing.assert_allclose(h, w + HAND_FOREARM_RATIO * (w - e), rtol=1e-5, atol=1e-3)
    assert res.meta["hand_extrapolated"] is True
    assert res.meta["model_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert res.meta["model_file"] == weights.name and res.meta["version"]

    skel = to_skeleton(res, {"source": "random frames"})
    assert skel.meta["measurement_plane"] == "image"
    seen = np.isfinite(skel.xyz).all(axis=-1)
    assert (skel.xyz[..., 2][seen] == 0).all()


def test_yolo_rejects_a_detection_model(tmp_path):
    from tools.pose.yolo_pose import YoloPoseBackend

    weights = _random_yolo(tmp_path, "detect")
    with pytest.raises(InputError, match="17 COCO keypoints"):
        YoloPoseBackend(weights)
