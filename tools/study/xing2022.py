"""Adapter for the public Azure-Kinect FMS dataset (Xing et al., Scientific Data 2022).

What we expect (taken from the paper's description, the Azure Kinect Body
Tracking SDK documentation and its `offline_processor` sample, and a public
script that reads the dataset; UNVERIFIED against the real files, which cannot
be downloaded here):
- one body-tracking JSON per clip, as written by the SDK's offline_processor:
  {"joint_names": [...32...], "frames": [{"timestamp_usec", "frame_id",
  "num_bodies", "bodies": [{"body_id", "joint_positions": [[x, y, z] x 32],
  "joint_orientations": [[w, x, y, z] x 32]}]}]}; positions in millimetres in
  the depth camera frame (x right, y down, z forward, right-handed);
- the file name carries underscore-separated tokens sNN (subject), mNN
  (movement code m01-m15) and eN (episode/repetition), e.g. `..._s03_m07_e2.json`;
  a folder named front/ or side/ somewhere above it gives the camera;
- experts_score.json: {subject: {movement: {episode: [score of each expert]}}},
  keyed by the same tokens (s03 / m07 / e2).

Joint order (k4abt_joint_id_t, 32): PELVIS, SPINE_NAVEL, SPINE_CHEST, NECK,
CLAVICLE_LEFT, SHOULDER_LEFT, ELBOW_LEFT, WRIST_LEFT, HAND_LEFT, HANDTIP_LEFT,
THUMB_LEFT, CLAVICLE_RIGHT, SHOULDER_RIGHT, ELBOW_RIGHT, WRIST_RIGHT,
HAND_RIGHT, HANDTIP_RIGHT, THUMB_RIGHT, HIP_LEFT, KNEE_LEFT, ANKLE_LEFT,
FOOT_LEFT, HIP_RIGHT, KNEE_RIGHT, ANKLE_RIGHT, FOOT_RIGHT, HEAD, NOSE,
EYE_LEFT, EAR_LEFT, EYE_RIGHT, EAR_RIGHT. LEFT/RIGHT are taken to be the
person's own (anatomical) sides. Conversion to the canonical skeleton:
metres, y and z negated (y up, z towards the camera: still right-handed);
toe = FOOT_*, hand = HAND_*; the heels are not tracked by Azure Kinect and are
left missing (NaN, confidence 0), so heel-based criteria say "not seen".

Movement codes (MOVEMENT_MAP): the grouping of the 15 codes into the seven tests
(m01-m02 deep squat, m03-m04 hurdle step, m05-m06 in-line lunge, m07-m08
shoulder mobility, m09-m10 active straight-leg raise, m11 trunk-stability
push-up, m12-m15 rotary stability) follows that public script; the side of
each code (odd = left, even = right within a pair; m12/m14 left, m13/m15
right) and the meaning of the second deep-squat code and of the four rotary
codes are OUR ASSUMPTIONS. Override with a JSON file {"m03": ["hurdle_step", "L"], ...}.

Reference score: the experts' majority when one exists, else their median
(rounded down). All expert scores are kept in experts.json so the report can
show the experts' agreement with each other: the human bar on this very data.
"""
from __future__ import annotations

import csv
import itertools
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tools.core.errors import InputError
from tools.core.stats import icc_2_1, weighted_kappa
from tools.core.fms import TESTS
from tools.core.skeleton import JOINTS, Skeleton

log = logging.getLogger(__name__)

AZURE_JOINTS: tuple[str, ...] = (
    "PELVIS", "SPINE_NAVEL", "SPINE_CHEST", "NECK", "CLAVICLE_LEFT", "SHOULDER_LEFT", "ELBOW_LEFT",
    "WRIST_LEFT", "HAND_LEFT", "HANDTIP_LEFT", "THUMB_LEFT", "CLAVICLE_RIGHT", "SHOULDER_RIGHT",
    "ELBOW_RIGHT", "WRIST_RIGHT", "HAND_RIGHT", "HANDTIP_RIGHT", "THUMB_RIGHT", "HIP_LEFT", "KNEE_LEFT",
    "ANKLE_LEFT", "FOOT_LEFT", "HIP_RIGHT", "KNEE_RIGHT", "ANKLE_RIGHT", "FOOT_RIGHT", "HEAD", "NOSE",
    "EYE_LEFT", "EAR_LEFT", "EYE_RIGHT", "EAR_RIGHT",
)
# canonical joint -> Azure Kinect joint (None = not tracked)
CANONICAL_FROM_AZURE: dict[str, str | None] = {
    "nose": "NOSE", "left_eye": "EYE_LEFT", "right_eye": "EYE_RIGHT", "left_ear": "EAR_LEFT",
    "right_ear": "EAR_RIGHT", "left_shoulder": "SHOULDER_LEFT", "right_shoulder": "SHOULDER_RIGHT",
    "left_elbow": "ELBOW_LEFT", "right_elbow": "ELBOW_RIGHT", "left_wrist": "WRIST_LEFT",
    "right_wrist": "WRIST_RIGHT", "left_hip": "HIP_LEFT", "right_hip": "HIP_RIGHT", "left_knee": "KNEE_LEFT",
    "right_knee": "KNEE_RIGHT", "left_ankle": "ANKLE_LEFT", "right_ankle": "ANKLE_RIGHT",
    "left_heel": None, "right_heel": None, "left_toe": "FOOT_LEFT", "right_toe": "FOOT_RIGHT",
    "left_hand": "HAND_LEFT", "right_hand": "HAND_RIGHT",
}
MOVEMENT_MAP: dict[str, tuple[str, str]] = {
    "m01": ("deep_squat", "NA"), "m02": ("deep_squat", "NA"),
    "m03": ("hurdle_step", "L"), "m04": ("hurdle_step", "R"),
    "m05": ("inline_lunge", "L"), "m06": ("inline_lunge", "R"),
    "m07": ("shoulder_mobility", "L"), "m08": ("shoulder_mobility", "R"),
    "m09": ("active_straight_leg_raise", "L"), "m10": ("active_straight_leg_raise", "R"),
    "m11": ("trunk_stability_pushup", "NA"),
    "m12": ("rotary_stability", "L"), "m13": ("rotary_stability", "R"),
    "m14": ("rotary_stability", "L"), "m15": ("rotary_stability", "R"),
}
MAPPING_NOTE = ("movement-code mapping: test grouping from a public script reading the dataset; sides "
                "(odd code = left) and the variants of m02 and m12-m15 are assumptions, unverified")
SCORES_FILE = "experts_score.json"
_TOKEN = {"subject": re.compile(r"^s\d+$", re.I), "movement": re.compile(r"^m\d+$", re.I),
          "episode": re.compile(r"^e\d+$", re.I)}


@dataclass
class XingConversion:
    """Result of converting a dataset folder: where the canonical clips and labels went."""

    labels_csv: str
    clips_dir: str
    experts_json: str
    n_clips: int
    n_skipped: int
    view: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_clip_name(stem: str) -> dict[str, str] | None:
    """{'subject': 's03', 'movement': 'm07', 'episode': 'e2'} from a file stem, or None."""
    found = {}
    for token in re.split(r"[_\-.\s]+", stem):
        for key, pattern in _TOKEN.items():
            if key not in found and pattern.match(token):
                found[key] = token.lower()
    return found if len(found) == 3 else None


def _norm_code(code: str, width: int = 2) -> str:
    return f"{code[0]}{int(code[1:]):0{width}d}"


def load_mapping(path: str | Path | None) -> dict[str, tuple[str, str]]:
    if path is None:
        return dict(MOVEMENT_MAP)
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read movement mapping {path}: {exc}") from exc
    mapping = dict(MOVEMENT_MAP)
    for code, value in raw.items():
        if not (isinstance(value, (list, tuple)) and len(value) == 2 and value[0] in TESTS
                and value[1] in ("L", "R", "NA")):
            raise InputError(f"mapping {path}: {code!r} must map to [test_name, side], e.g. [\"hurdle_step\", \"L\"]")
        mapping[_norm_code(code.lower())] = (value[0], value[1])
    return mapping


def read_azure_json(path: Path) -> Skeleton:
    """One offline_processor JSON -> canonical Skeleton (body tracked in most frames)."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read Azure Kinect JSON {path}: {exc}") from exc
    frames = doc.get("frames") if isinstance(doc, dict) else None
    if not frames:
        raise InputError(f"{path.name}: no 'frames' list (expected Azure Kinect offline_processor output)")
    names = [str(n).upper() for n in doc.get("joint_names", AZURE_JOINTS)]
    if len(names) != len(AZURE_JOINTS):
        raise InputError(f"{path.name}: {len(names)} joint names; expected the 32 Azure Kinect joints")
    ids = Counter(b.get("body_id", 0) for f in frames for b in f.get("bodies", []))
    if not ids:
        raise InputError(f"{path.name}: no body tracked in any frame")
    body_id = ids.most_common(1)[0][0]
    t = len(frames)
    az = np.full((t, len(names), 3), np.nan)
    stamps = []
    for i, f in enumerate(frames):
        stamps.append(f.get("timestamp_usec"))
        body = next((b for b in f.get("bodies", []) if b.get("body_id", 0) == body_id), None)
        if body is None:
            continue
        pos = np.asarray(body.get("joint_positions", []), dtype=float)
        if pos.shape != (len(names), 3):
            raise InputError(f"{path.name} frame {i}: joint_positions has shape {pos.shape}, expected (32, 3)")
        az[i] = pos
    xyz = np.full((t, len(JOINTS), 3), np.nan, dtype=np.float32)
    conf = np.zeros((t, len(JOINTS)), dtype=np.float32)
    for j, joint in enumerate(JOINTS):
        src = CANONICAL_FROM_AZURE[joint]
        if src is None:
            continue
        col = az[:, names.index(src)] / 1000.0
        xyz[:, j] = col * np.array([1.0, -1.0, -1.0])
        conf[:, j] = np.isfinite(col).all(axis=1)
    fps = 30.0
    valid = np.array([s for s in stamps if isinstance(s, (int, float))], dtype=float)
    if len(valid) > 2 and np.median(np.diff(valid)) > 0:
        fps = float(1e6 / np.median(np.diff(valid)))
    meta = {"source": "xing2022-azure-kinect", "file": path.name, "body_id": body_id,
            "sdk": doc.get("k4abt_sdk_version"), "units_in": "mm, camera frame y down",
            "missing_joints": ["left_heel", "right_heel"], "note": "heels are not tracked by Azure Kinect"}
    return Skeleton(xyz=xyz, conf=conf, fps=fps, meta=meta)


def reference_score(scores: list[int]) -> int:
    """Majority of the experts when there is one, else the median rounded down."""
    counts = Counter(scores).most_common()
    if len(counts) == 1 or counts[0][1] > counts[1][1]:
        return int(counts[0][0])
    return int(np.floor(np.median(scores)))


def _lookup(scores: dict, subject: str, movement: str, episode: str) -> list[int] | None:
    def find(d: dict, key: str):
        if not isinstance(d, dict):
            return None
        if key in d:
            return d[key]
        want = (key[0], int(key[1:]))
        for k, v in d.items():
            k = str(k).lower()
            if k[:1] == want[0] and k[1:].isdigit() and int(k[1:]) == want[1]:
                return v
        return None
    value = find(find(find(scores, subject) or {}, movement) or {}, episode)
    if isinstance(value, (int, float)):
        return [int(value)]
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return [int(v) for v in value]
    return None


def _view_of(path: Path) -> str | None:
    for part in reversed(path.parts[:-1]):
        p = part.lower()
        if "front" in p:
            return "front"
        if "side" in p:
            return "side"
    return None


def convert_xing2022(root: str | Path, out_dir: str | Path, view: str = "front",
                     mapping_file: str | Path | None = None) -> XingConversion:
    """Convert the dataset under `root` to canonical .npz clips + labels.csv + experts.json in out_dir."""
    root, out = Path(root), Path(out_dir)
    if not root.is_dir():
        raise InputError(f"--xing2022 {root}: not a folder. Give the unpacked dataset folder.")
    if view not in ("front", "side"):
        raise InputError(f"view must be front or side, got {view!r}")
    mapping = load_mapping(mapping_file)
    score_files = sorted(root.rglob(SCORES_FILE))
    if not score_files:
        raise InputError(f"no {SCORES_FILE} under {root}: the expert scores are needed to evaluate")
    try:
        scores = json.loads(score_files[0].read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {score_files[0]}: {exc}") from exc
    candidates = [p for p in sorted(root.rglob("*.json")) if p.name != SCORES_FILE and parse_clip_name(p.stem)]
    if not candidates:
        raise InputError(f"no clip JSON under {root} named with sNN, mNN and eN tokens (e.g. A_s01_m01_e1.json)")
    views = {_view_of(p) for p in candidates}
    notes = [MAPPING_NOTE]
    if view in views:
        candidates = [p for p in candidates if _view_of(p) == view]
    else:
        notes.append(f"no {view}/ folder found: all {len(candidates)} clip files used, camera view unknown")
    clips_dir = out / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    rows, experts, problems = [], {}, []
    for path in candidates:
        tok = parse_clip_name(path.stem)
        movement = _norm_code(tok["movement"])
        if movement not in mapping:
            problems.append(f"{path.name}: movement {movement} not in the mapping")
            continue
        test, side = mapping[movement]
        expert_scores = _lookup(scores, tok["subject"], tok["movement"], tok["episode"])
        if not expert_scores:
            problems.append(f"{path.name}: no expert scores for {tok['subject']}/{tok['movement']}/{tok['episode']}")
            continue
        if any(not 0 <= s <= 3 for s in expert_scores):
            problems.append(f"{path.name}: expert scores {expert_scores} outside 0-3")
            continue
        try:
            skel = read_azure_json(path)
        except InputError as exc:
            problems.append(str(exc))
            continue
        subject = _norm_code(tok["subject"])
        clip_id = f"XING-{subject}-{movement}-{tok['episode']}-{view}"
        skel.replace(meta=dict(skel.meta, movement=movement, test_name=test, side=side)).save(clips_dir / f"{clip_id}.npz")
        score = reference_score(expert_scores)
        experts[clip_id] = expert_scores
        rows.append({"clip_id": clip_id, "athlete_id": f"XING-{subject}", "date": "", "test_name": test,
                     "side": side, "score": score, "pain": str(score == 0).lower(),
                     "compensation_notes": f"xing2022 {movement} {tok['episode']}; experts {expert_scores}",
                     "camera_view": view if view in views else "", "consent_on_file": "true"})
    if not rows:
        raise InputError(f"no clip of {root} could be converted: {'; '.join(problems[:5])}")
    labels = out / "labels.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    experts_path = out / "experts.json"
    experts_path.write_text(json.dumps(experts, indent=1))
    if problems:
        log.warning("xing2022: skipped %d file(s): %s", len(problems), "; ".join(problems[:5]))
    return XingConversion(labels_csv=str(labels), clips_dir=str(clips_dir), experts_json=str(experts_path),
                          n_clips=len(rows), n_skipped=len(problems), view=view, problems=problems[:50],
                          notes=notes)


def inter_expert_agreement(experts_json: str | Path, labels_csv: str | Path) -> dict:
    """Per test: mean pairwise quadratic kappa between experts and ICC(2,1) of expert 1 vs expert 2
    (clips scored by at least two experts): how well the humans agree on this very data."""
    experts = json.loads(Path(experts_json).read_text())
    with open(labels_csv, newline="") as fh:
        test_of = {r["clip_id"]: r["test_name"] for r in csv.DictReader(fh)}
    out = {}
    for test in TESTS + ("all",):
        clips = [c for c, s in experts.items() if (test == "all" or test_of.get(c) == test) and len(s) >= 2]
        if not clips:
            continue
        k = min(len(experts[c]) for c in clips)
        kappas = []
        for i, j in itertools.combinations(range(k), 2):
            kappas.append(weighted_kappa([experts[c][i] for c in clips], [experts[c][j] for c in clips], "quadratic"))
        finite = [x for x in kappas if np.isfinite(x)]
        icc, _ = icc_2_1([experts[c][0] for c in clips], [experts[c][1] for c in clips])
        out[test] = {"n_clips": len(clips), "n_experts": k,
                     "mean_pairwise_kappa_quadratic": round(float(np.mean(finite)), 4) if finite else None,
                     "icc_expert1_vs_expert2": round(icc, 4) if np.isfinite(icc) else None}
    return out
