"""Xing et al. 2022 adapter, on small fixture files written here in the documented format.

The real dataset cannot be downloaded here; these fixtures follow the format as
the adapter's docstring describes it (Azure Kinect offline_processor JSON,
sNN/mNN/eN file-name tokens, experts_score.json), so they test our reading of
that description, not the real files.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.tools.scoring.test_stgcn_toydata import toy_clip
from tools.core.errors import InputError
from tools.study.xing2022 import (AZURE_JOINTS, CANONICAL_FROM_AZURE, convert_xing2022, inter_expert_agreement,
                                     parse_clip_name, read_azure_json, reference_score)
from tools.core.skeleton import JOINTS, Skeleton


def _azure_frames(skel: Skeleton, extra_body_every: int = 0) -> list[dict]:
    """Canonical skeleton -> offline_processor frames (mm, y down, z away from the camera)."""
    frames = []
    for t in range(skel.n_frames):
        pos = np.zeros((32, 3))
        for j, joint in enumerate(JOINTS):
            src = CANONICAL_FROM_AZURE[joint]
            if src is not None:
                pos[AZURE_JOINTS.index(src)] = skel.xyz[t, j] * np.array([1000.0, -1000.0, -1000.0])
        hip = (skel.xyz[t, JOINTS.index("left_hip")] + skel.xyz[t, JOINTS.index("right_hip")]) / 2
        pos[0] = hip * np.array([1000.0, -1000.0, -1000.0])            # PELVIS
        bodies = [{"body_id": 1, "joint_positions": pos.round(2).tolist(),
                   "joint_orientations": [[1.0, 0.0, 0.0, 0.0]] * 32}]
        if extra_body_every and t % extra_body_every == 0:   # a bystander for a frame now and then
            bodies.append({"body_id": 7, "joint_positions": (pos + 2000).tolist(),
                           "joint_orientations": [[1.0, 0.0, 0.0, 0.0]] * 32})
        frames.append({"timestamp_usec": int(1e6 * t / 30), "frame_id": t, "num_bodies": len(bodies),
                       "bodies": bodies})
    return frames


def write_fixture(root, subjects=("s01", "s02", "s03"), n_frames: int = 40) -> dict:
    rng = np.random.default_rng(0)
    plan = {"m01": ("deep_squat", "NA"), "m03": ("hurdle_step", "L"), "m04": ("hurdle_step", "R"),
            "m07": ("shoulder_mobility", "L")}
    scores: dict = {}
    for view in ("front", "side"):
        (root / "skeleton_data" / view).mkdir(parents=True, exist_ok=True)
    for k, subject in enumerate(subjects):
        for code, (test, side) in plan.items():
            for episode in ("e1", "e2"):
                skel = toy_clip(test, 2, side if side != "NA" else "L", rng, n_frames=n_frames)
                doc = {"k4abt_sdk_version": "1.1.0", "source_file": f"{subject}_{code}.mkv",
                       "joint_names": list(AZURE_JOINTS), "bone_list": [],
                       "frames": _azure_frames(skel, extra_body_every=7)}
                for view in ("front", "side"):
                    name = f"A{k}_{subject}_{code}_{episode}.json"
                    (root / "skeleton_data" / view / name).write_text(json.dumps(doc))
                experts = [2, 2, 3] if (k + int(code[1:])) % 2 else [1, 2, 2]
                scores.setdefault(subject, {}).setdefault(code, {})[episode] = experts
    (root / "expert_score").mkdir(exist_ok=True)
    (root / "expert_score" / "experts_score.json").write_text(json.dumps(scores))
    return scores


def test_parse_names_and_reference_score():
    assert parse_clip_name("A0_s01_m07_e2") == {"subject": "s01", "movement": "m07", "episode": "e2"}
    assert parse_clip_name("s1-m3-e1") == {"subject": "s1", "movement": "m3", "episode": "e1"}
    assert parse_clip_name("notes_m01") is None
    assert reference_score([2, 2, 3]) == 2 and reference_score([1, 3]) == 2 and reference_score([1, 2, 3]) == 2
    assert reference_score([3, 3, 1]) == 3


def test_read_azure_json_converts_units_and_axes(tmp_path):
    skel = toy_clip("deep_squat", 3, "NA", np.random.default_rng(1))
    path = tmp_path / "x_s01_m01_e1.json"
    path.write_text(json.dumps({"joint_names": list(AZURE_JOINTS), "frames": _azure_frames(skel, 3)}))
    out = read_azure_json(path)
    assert out.n_frames == skel.n_frames and abs(out.fps - 30.0) < 0.1
    knee = JOINTS.index("left_knee")
    np.testing.assert_allclose(out.xyz[:, knee], skel.xyz[:, knee], atol=1e-4)   # tracked body, not bystander
    heel = JOINTS.index("left_heel")
    assert np.isnan(out.xyz[:, heel]).all() and (out.conf[:, heel] == 0).all()
    assert out.xyz[0, JOINTS.index("nose"), 1] > out.xyz[0, JOINTS.index("left_ankle"), 1]   # y is up
    bad = tmp_path / "bad_s01_m01_e1.json"
    bad.write_text(json.dumps({"frames": []}))
    with pytest.raises(InputError, match="no 'frames'"):
        read_azure_json(bad)


def test_convert_and_expert_agreement(tmp_path):
    write_fixture(tmp_path / "xing")
    conv = convert_xing2022(tmp_path / "xing", tmp_path / "out", view="side")
    assert conv.n_clips == 3 * 4 * 2 and conv.n_skipped == 0
    import csv
    with open(conv.labels_csv) as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r["clip_id"]: r for r in rows}
    r = by_id["XING-s01-m03-e1-side"]
    assert (r["test_name"], r["side"], r["athlete_id"], r["camera_view"]) == ("hurdle_step", "L", "XING-s01", "side")
    assert by_id["XING-s01-m04-e2-side"]["side"] == "R"
    assert {r["score"] for r in rows} == {"2"}             # majority of [2,2,3] and of [1,2,2]
    human = inter_expert_agreement(conv.experts_json, conv.labels_csv)
    assert human["all"]["n_experts"] == 3 and human["all"]["n_clips"] == 24
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"m03": ["hurdle_step", "R"], "m04": ["hurdle_step", "L"]}))
    conv2 = convert_xing2022(tmp_path / "xing", tmp_path / "out2", view="front", mapping_file=mapping)
    with open(conv2.labels_csv) as fh:
        assert {r["side"] for r in csv.DictReader(fh) if "m03" in r["clip_id"]} == {"R"}
    with pytest.raises(InputError, match="experts_score.json"):
        convert_xing2022(tmp_path / "out", tmp_path / "o3")


def test_eval_cli_on_xing_fixture(tmp_path, capsys):
    from agent.cli.main import main
    write_fixture(tmp_path / "xing", subjects=("s01", "s02"), n_frames=30)
    out = tmp_path / "rep"
    rc = main(["eval", "--xing2022", str(tmp_path / "xing"), "--scorer", "rules", "--out", str(out), "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_clips"] == 16 and summary["n_athletes"] == 2
    assert "human_on_this_data" in summary
    assert any("unverified" in n or "assumptions" in n for n in summary["notes"])
    assert (out / "report.html").is_file()
