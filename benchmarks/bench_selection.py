"""Athlete selection: cost per clip and whether the skeleton stays on the right person.

    .venv/bin/python benchmarks/bench_selection.py [--crowd /tmp/crowd] [--sports2d PATH/sports2d_demo.mp4]
        [--methods plain,auto,box] [--yolo-random] [--json OUT.json]

Methods (tools.people.athlete_pose.estimate_pose):
  plain  select="off": MediaPipe video mode alone (before tracking; follows one person, can jump)
  auto   select="auto": tiled detect-and-mask keyframes, tracks, the athlete chosen automatically
  box    as auto, with athlete_box = the athlete's true box on frame 0 (crowd truth / hand label)
  yolo   (--yolo-random) YOLO multi-person tracks with random-weight YOLO26n: cost only, its boxes are noise

Figures per clip and method:
  s/clip, ms/frame     wall time of estimate_pose (includes decoding), on this machine's cores
  on_athlete           share of frames where the athlete is visible (truth visible share >= 0.5) in
                       which the estimated hip centre lies within 0.25 x the athlete's true box height
                       of the athlete's true hip centre (crowd clips)
  on_other_frames      frames where the estimated hip centre lies within that distance of another
                       person's true hip centre and not the athlete's: the skeleton on the wrong body
  switches_to_other    runs of such frames (how many times the skeleton went to someone else)
  blank_share          frames with the athlete visible but no skeleton
  quality_jumps        identity jumps tools.geometry.quality finds on the lifted skeleton
  caught / repaired    identity switches the tracker detected / repaired (meta["selection"])
  absent               share of frames the tracker reports the athlete absent (out of frame or out of sight)
  relinked             re-acquisitions of the athlete after a gap (meta["selection"]["reacquired"]),
                       "n (w weak)": weak links are review problems
sports2d_demo.mp4 has no ground truth: its athlete (the man on the box, later shirtless on the right)
and the passer-by (the woman walking right to left) are hand-labelled below from keyframe boxes checked
by eye on an overlay; on_athlete there is over the labelled frames 0-120 and 200-220.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.skeleton import JOINT_INDEX  # noqa: E402

HIPS = [JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]]
SCENARIOS = ("crossing_front", "crossing_behind", "two_athletes", "athlete_leaves", "bystander")

# sports2d_demo.mp4, boxes xyxy px checked by eye (frame: box). The man on the box is hidden by his
# flip and the box from about frame 130 to 190; frames there are not labelled.
S2D_ATHLETE = {0: (592, 95, 710, 468), 20: (521, 27, 734, 452), 40: (588, 106, 718, 459),
               60: (523, 59, 732, 459), 80: (581, 123, 689, 467), 100: (600, 108, 691, 465),
               120: (665, 118, 761, 463), 200: (1071, 773, 1241, 914), 220: (1346, 585, 1528, 895)}
S2D_PASSER = {40: (1466, 592, 1568, 930), 60: (1281, 575, 1498, 942), 80: (1102, 562, 1334, 927),
              100: (919, 556, 1139, 926), 120: (728, 547, 939, 924), 140: (521, 541, 727, 926),
              160: (360, 542, 495, 939), 180: (143, 552, 266, 944)}


def interpolate_boxes(labels: dict, n_frames: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """[T, 4] boxes linearly interpolated between labelled frames, inside the given (start, stop) spans."""
    out = np.full((n_frames, 4), np.nan)
    keys = sorted(labels)
    for a, b in zip(keys, keys[1:]):
        if any(s <= a and b <= e for s, e in spans):
            w = (np.arange(a, b + 1) - a)[:, None] / (b - a)
            out[a:b + 1] = (1 - w) * np.array(labels[a]) + w * np.array(labels[b])
    return out


def hip_centre(uv: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """[T, 2] mean of the hips where both are found, else NaN."""
    hips = uv[:, HIPS].astype(np.float64).mean(axis=1)
    hips[~((conf[:, HIPS] > 0).all(axis=1))] = np.nan
    return hips


def _runs(mask: np.ndarray) -> int:
    m = np.concatenate([[False], mask.astype(bool)])
    return int((np.diff(m.astype(np.int8)) == 1).sum())


def score_against_truth(uv: np.ndarray, conf: np.ndarray, truth: dict) -> dict:
    """On-athlete / on-other figures of an estimate against a crowd clip's truth.npz."""
    est = hip_centre(uv, conf)
    n = min(len(est), len(truth["athlete_uv"]))
    est = est[:n]
    ath_hip = truth["athlete_uv"][:n, HIPS].astype(np.float64).mean(axis=1)
    box = truth["athlete_box_xyxy"][:n].astype(np.float64)
    tol = 0.25 * (box[:, 3] - box[:, 1])
    visible = (truth["athlete_visible_share"][:n] >= 0.5) & np.isfinite(tol)
    d_ath = np.linalg.norm(est - ath_hip, axis=1)
    on_ath = np.nan_to_num(d_ath, nan=np.inf) <= np.nan_to_num(tol, nan=-1)
    on_other = np.zeros(n, bool)
    for k in range(len(truth["others_uv"])):
        o_hip = truth["others_uv"][k, :n][:, HIPS].astype(np.float64).mean(axis=1)
        ob = truth["others_box_xyxy"][k, :n].astype(np.float64)
        o_tol = 0.25 * (ob[:, 3] - ob[:, 1])
        d = np.linalg.norm(est - o_hip, axis=1)
        on_other |= (np.nan_to_num(d, nan=np.inf) <= np.nan_to_num(o_tol, nan=-1)) & ~on_ath
    found = np.isfinite(est).all(axis=1)
    return {"on_athlete": round(float(on_ath[visible].mean()), 3) if visible.any() else None,
            "on_other_frames": int(on_other.sum()), "switches_to_other": _runs(on_other),
            "blank_share": round(float((~found[visible]).mean()), 3) if visible.any() else None,
            "visible_frames": int(visible.sum())}


def score_sports2d(uv: np.ndarray, conf: np.ndarray) -> dict:
    """On-athlete share over hand-labelled frames, and frames on the hand-labelled passer-by."""
    n = len(uv)
    est = hip_centre(uv, conf)
    ath = interpolate_boxes(S2D_ATHLETE, n, [(0, 120), (200, 220)])
    pas = interpolate_boxes(S2D_PASSER, n, [(40, 180)])

    def inside(boxes):
        b = boxes.copy()
        m = 0.1 * (b[:, 3] - b[:, 1])
        b += np.stack([-m, -m, m, m], axis=1)
        ok = np.isfinite(est).all(axis=1) & np.isfinite(b).all(axis=1)
        res = np.zeros(n, bool)
        res[ok] = ((est[ok, 0] >= b[ok, 0]) & (est[ok, 0] <= b[ok, 2]) &
                   (est[ok, 1] >= b[ok, 1]) & (est[ok, 1] <= b[ok, 3]))
        return res

    labelled = np.isfinite(ath).all(axis=1)
    on_pas = inside(pas)
    return {"on_athlete": round(float(inside(ath)[labelled].mean()), 3), "on_other_frames": int(on_pas.sum()),
            "switches_to_other": _runs(on_pas), "blank_share": None, "visible_frames": int(labelled.sum())}


def run_method(video: Path, method: str, athlete_box=None, yolo_weights: Path | None = None) -> tuple[object, float]:
    from tools.people.athlete_pose import estimate_pose
    t0 = time.perf_counter()
    if method == "plain":
        res = estimate_pose(video, select="off")
    elif method == "auto":
        res = estimate_pose(video)
    elif method == "box":
        res = estimate_pose(video, athlete_box=athlete_box)
    elif method == "yolo":
        res = estimate_pose(video, backend="yolo", weights=yolo_weights)
    else:
        raise ValueError(method)
    return res, time.perf_counter() - t0


def _relinked(selection: dict) -> str | None:
    """'n (w weak)' re-acquisitions of the athlete, or None when the method does not track."""
    if "reacquired" not in selection:
        return None
    events = selection["reacquired"]
    return f"{len(events)} ({sum(e.get('strength') == 'weak' for e in events)} weak)"


def quality_jumps(res, name: str) -> int:
    from tools.geometry.lift3d import to_skeleton
    from tools.geometry.quality import assess_quality
    return assess_quality(to_skeleton(res, {"source": name})).identity_jumps


def random_yolo(tmp_dir: Path) -> Path:
    """A random-weight YOLO26n pose model built offline from the packaged yaml (cost figures only)."""
    import torch
    import ultralytics
    import yaml

    from tools.pose.yolo_pose import _import_yolo
    YOLO, _ = _import_yolo()
    cfg = yaml.safe_load((Path(ultralytics.__file__).parent / "cfg/models/26/yolo26-pose.yaml").read_text())
    cfg.update(nc=1, kpt_shape=[17, 3])
    path = tmp_dir / "yolo26n-pose.yaml"
    path.write_text(yaml.safe_dump(cfg))
    torch.manual_seed(0)
    out = tmp_dir / "random-pose.pt"
    YOLO(str(path), task="pose").save(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crowd", default="/tmp/crowd", help="folder of <scenario>/clip.mp4 + truth.npz")
    ap.add_argument("--sports2d", default=str(Path(__file__).resolve().parents[2] / "shared/data/sports2d_demo.mp4"))
    ap.add_argument("--methods", default="plain,auto,box")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--yolo-random", action="store_true", help="also time YOLO tracks with random weights")
    ap.add_argument("--json", default="", help="write the rows here too")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    methods = [m for m in args.methods.split(",") if m]
    clips: list[tuple[str, Path, dict | None]] = []
    if Path(args.sports2d).is_file():
        clips.append(("sports2d", Path(args.sports2d), None))
    for sc in args.scenarios.split(","):
        clip, truth = Path(args.crowd) / sc / "clip.mp4", Path(args.crowd) / sc / "truth.npz"
        if clip.is_file() and truth.is_file():
            with np.load(truth, allow_pickle=False) as t:
                clips.append((sc, clip, {k: t[k] for k in t.files}))
    yolo_weights = None
    if args.yolo_random:
        import tempfile
        yolo_weights = random_yolo(Path(tempfile.mkdtemp()))
        methods.append("yolo")
    rows = []
    for name, video, truth in clips:
        for method in methods:
            box = None
            if method == "box":
                b = np.array(S2D_ATHLETE[0], float) if truth is None else truth["athlete_box_xyxy"][0].astype(float)
                if not np.isfinite(b).all():
                    continue
                box = (b[0], b[1], b[2] - b[0], b[3] - b[1])
            res, seconds = run_method(video, method, box, yolo_weights)
            sel = res.meta.get("selection", {})
            figs = (score_sports2d(res.uv, res.conf) if truth is None else
                    score_against_truth(res.uv, res.conf, truth)) if method != "yolo" else {}
            row = {"clip": name, "method": method, "frames": res.n_frames, "s_per_clip": round(seconds, 2),
                   "ms_per_frame": round(1000 * seconds / max(res.n_frames, 1), 1), **figs,
                   "quality_jumps": quality_jumps(res, name) if method != "yolo" else None,
                   "caught": sel.get("identity_switches_detected"), "repaired": sel.get("identity_switches_repaired"),
                   "people": sel.get("people_found"), "chosen_by": sel.get("method"),
                   "absent": sel.get("athlete_absent_share"), "relinked": _relinked(sel),
                   "problems": sel.get("problems", [])}
            rows.append(row)
            print(json.dumps(row), flush=True)
    cols = ["clip", "method", "frames", "s_per_clip", "ms_per_frame", "on_athlete", "on_other_frames",
            "switches_to_other", "blank_share", "quality_jumps", "caught", "repaired", "people", "absent",
            "relinked"]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join("-" if r.get(c) is None else str(r.get(c)) for c in cols) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
