"""Angle error per test and view on rendered clips with known truth: before (MediaPipe 3D) and after (the fit).

    .venv/bin/python benchmarks/bench_angles_video.py --set tune --cache DIR [--tests a,b] [--json OUT]
    .venv/bin/python benchmarks/bench_angles_video.py --set budget --cache DIR --write-budget   # knowledge/error_budget.yaml

Clips come from benchmarks/angle_clips.py (rendered once and posed once into
the cache; later runs re-use them). For every clip:
  before  the skeleton the pipeline made before issue 16: tools.geometry.lift3d
          (MediaPipe world landmarks, camera-aligned, root travel from the image)
  after   tools.geometry.fit.fit_pose (constant-bone skeleton fitted to the 2D
          keypoints, on the floor, under gravity)
both then filled and smoothed as the screening step prepare_skeleton does, and
every named measurement (tools.geometry.angles) compared frame by frame with
the truth's. Prints, per test: every measurement its criteria read plus the key
angles, MAE before -> after per view azimuth; then the fit's camera estimates
against the truth (focal, pitch, lens height, view azimuth) and its CPU cost.
--write-budget stores, per measurement (left limb; the right is read mirrored),
view azimuth and lens height: the RMS error (sd), mean error (bias) and clip
count of the fit, in knowledge/error_budget.yaml.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from angle_clips import clip_set, ensure_clip, load_pose, select  # noqa: E402
from tools.core.fms import BILATERAL, TESTS  # noqa: E402
from tools.core.skeleton import Skeleton  # noqa: E402

KEY = ("left_knee_flexion_deg", "right_knee_flexion_deg", "left_hip_flexion_deg", "right_hip_flexion_deg",
       "trunk_inclination_deg")
# criteria measures that are not rows of MEASUREMENTS: the rows they are made of
DERIVED = {"same_side_leg_share": ("{side}_thigh_elevation_deg", "{other}_thigh_elevation_deg"),
           "{side}_elbow_to_{knee}_knee_m": ("{side}_elbow_to_same_knee_m", "{side}_elbow_to_opposite_knee_m")}
GRID = (-180.0, -135.0, -90.0, -60.0, -45.0, -30.0, 0.0, 30.0, 45.0, 60.0, 90.0, 135.0, 180.0)


def criteria_measures(test: str, side: str) -> list[str]:
    """The measurement rows the test's criteria read, for this side (bilateral) or both."""
    from tools.geometry.angles import SPECS
    from tools.scoring.criteria import load_criteria
    spec = load_criteria()[test]
    names: list[str] = []
    sides = [("left", "right"), ("right", "left")] if side == "NA" else \
        [("left", "right") if side == "L" else ("right", "left")]
    for cid, c in spec.items():
        if not isinstance(c, dict) or "measure" not in c:
            continue
        for s, o in sides:
            for m in DERIVED.get(c["measure"], (c["measure"],)):
                name = m.format(side=s, other=o, knee="same")
                for n in (name, f"left_{name}", f"right_{name}"):
                    if n in SPECS and n not in names:
                        names.append(n)
                        break
    return names


def prepared(skel: Skeleton) -> Skeleton:
    """Filled and smoothed as agent.screening.steps.prepare_skeleton does (0.2 s gaps, 0.2 s Savitzky-Golay)."""
    return skel.filled(max_gap_frames=max(1, int(round(0.2 * skel.fps)))).smoothed(window_s=0.2)


def truth_camera(truth: Skeleton) -> dict:
    cam = truth.meta["camera"]
    pos, tgt = np.array(cam["position"]), np.array(cam["target"])
    fwd = (tgt - pos) / np.linalg.norm(tgt - pos)
    return {"pitch_deg": math.degrees(math.asin(-fwd[1])), "lens_height_m": float(pos[1]),
            "focal_px": 0.5 * cam["width"] / math.tan(math.radians(cam["hfov_deg"]) / 2), "position": pos}


def evaluate_clip(spec, cache: Path) -> dict:
    from tools.geometry.angles import measure
    from tools.geometry.facing import view_azimuth_deg
    from tools.geometry.fit import fit_pose
    from tools.geometry.lift3d import to_skeleton
    files = ensure_clip(spec, cache)
    pose, truth = load_pose(files["pose"]), Skeleton.load(files["truth"])
    cam = truth_camera(truth)
    timing = json.loads(files["spec"].read_text()) if files["spec"].is_file() else {}
    before = prepared(to_skeleton(pose))
    c0 = time.process_time()
    fitted, report = fit_pose(pose)
    fit_cpu = time.process_time() - c0
    after = prepared(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mt, mb, ma = measure(truth), measure(before), measure(after)
    n = min(truth.n_frames, before.n_frames)
    errors = {}
    for name in mt:
        tv = mt[name].values[:n]
        row = {}
        for label, m in (("before", mb), ("after", ma)):
            mv = m[name].values[:n]
            ok = np.isfinite(tv) & np.isfinite(mv)
            if ok.sum() < 3:
                row[label] = None
                continue
            e = mv[ok] - tv[ok]
            row[label] = {"mae": float(np.mean(np.abs(e))), "bias": float(np.mean(e)), "ms": float(np.mean(e ** 2)),
                          "n": int(ok.sum())}
        errors[name] = row
    true_az = view_azimuth_deg(truth.xyz, cam["position"], truth.fps)
    return {"clip_id": spec.clip_id, "test": spec.test, "side": spec.side, "azimuth_deg": spec.azimuth_deg,
            "true_azimuth_deg": true_az, "lens_height_m": spec.lens_height_m, "errors": errors,
            "fit": {"cpu_s": fit_cpu, "focal_px": report.intrinsics["focal_px"], "pitch_deg": report.pitch_deg,
                    "roll_deg": report.roll_deg, "lens_height_m": report.camera_height_m,
                    "view_azimuth_deg": report.view_azimuth_deg, "residual_px": report.residual_px_median,
                    "facing": report.facing, "problems": report.problems},
            "truth_camera": {k: v for k, v in cam.items() if k != "position"},
            "pose_cpu_s": timing.get("pose_cpu_s"), "n_frames": int(truth.n_frames)}


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "   -  "
    return f"{v:6.1f}" if unit in ("deg",) else f"{v:6.3f}"


def report_rows(rows: list[dict]) -> None:
    from tools.geometry.angles import SPECS
    by_test = defaultdict(list)
    for r in rows:
        by_test[r["test"]].append(r)
    for test in TESTS:
        got = by_test.get(test)
        if not got:
            continue
        az = sorted({r["azimuth_deg"] for r in got})
        names = list(KEY) + [m for m in criteria_measures(test, "NA" if test not in BILATERAL else "L")
                             if m in SPECS and m not in KEY]
        print(f"\n== {test}: MAE before -> after, per view azimuth (deg from the athlete's front; L and R samples "
              f"pooled by mirroring)")
        print(f"{'measure':34s}" + "".join(f"{a:>15g}" for a in az) + f"{'all':>15s}")
        for name in names:
            line = f"{name:34s}"
            unit = SPECS[name].unit
            for a in az + [None]:
                sub = [r for r in got if a is None or r["azimuth_deg"] == a]
                vals = {"before": [], "after": []}
                for r in sub:
                    key = _mirror_name(name, r["side"])
                    e = r["errors"].get(key) or {}
                    for k in vals:
                        if e.get(k):
                            vals[k].append(e[k]["mae"])
                b = np.mean(vals["before"]) if vals["before"] else None
                f = np.mean(vals["after"]) if vals["after"] else None
                line += f"  {_fmt(b, unit)}>{_fmt(f, unit)}"
            print(line)
    print("\n== camera estimates vs truth (median |error| over clips) and cost")
    fe = [abs(r["fit"]["focal_px"] / r["truth_camera"]["focal_px"] - 1) * 100 for r in rows]
    pe = [abs(r["fit"]["pitch_deg"] - r["truth_camera"]["pitch_deg"]) for r in rows]
    he = [abs(r["fit"]["lens_height_m"] - r["truth_camera"]["lens_height_m"]) for r in rows]
    ae = [abs(_wrap(r["fit"]["view_azimuth_deg"] - r["true_azimuth_deg"])) for r in rows
          if r["fit"]["view_azimuth_deg"] is not None and r["true_azimuth_deg"] is not None]
    share = [r["fit"]["cpu_s"] / r["pose_cpu_s"] for r in rows if r.get("pose_cpu_s")]
    print(f"focal {np.median(fe):.1f} %  pitch {np.median(pe):.1f} deg  lens height {np.median(he):.2f} m  "
          f"view azimuth {np.median(ae) if ae else float('nan'):.1f} deg (p90 {np.percentile(ae, 90) if ae else float('nan'):.1f})")
    print(f"fit CPU per clip: median {np.median([r['fit']['cpu_s'] for r in rows]):.2f} s; "
          f"share of pose CPU: median {np.median(share) if share else float('nan'):.2f}, "
          f"p90 {np.percentile(share, 90) if share else float('nan'):.2f}")
    facing = sum(r["fit"]["facing"].get("frames_relabelled", 0) for r in rows)
    print(f"frames relabelled by facing: {facing}; clips with fit problems: "
          f"{sum(bool(r['fit']['problems']) for r in rows)} of {len(rows)}")


def markdown_table(rows: list[dict]) -> str:
    """Per test, every measurement its criteria read: MAE before -> after per view azimuth (both lens heights)."""
    from tools.geometry.angles import SPECS
    az = sorted({r["azimuth_deg"] for r in rows})
    out = ["| test | measurement | " + " | ".join(f"{a:g} deg" for a in az) + " | all |",
           "|---|---|" + "---|" * (len(az) + 1)]
    for test in TESTS:
        got = [r for r in rows if r["test"] == test]
        if not got:
            continue
        names = [m for m in criteria_measures(test, "NA" if test not in BILATERAL else "L") if m in SPECS]
        for name in dict.fromkeys(["left_knee_flexion_deg", "trunk_inclination_deg"] + names):
            unit = SPECS[name].unit
            cells = []
            for a in az + [None]:
                vals: dict[str, list] = {"before": [], "after": []}
                for r in got:
                    if a is not None and r["azimuth_deg"] != a:
                        continue
                    e = r["errors"].get(_mirror_name(name, r["side"])) or {}
                    for k in vals:
                        if e.get(k):
                            vals[k].append(e[k]["mae"])
                fmt = (lambda v: f"{v:.1f}") if unit == "deg" else (lambda v: f"{v:.3f}")
                cells.append(" -> ".join(fmt(np.mean(v)) if v else "-" for v in (vals["before"], vals["after"])))
            out.append(f"| {test} | {name} ({unit}) | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _wrap(a: float) -> float:
    return (a + 180.0) % 360.0 - 180.0


def _mirror_name(name: str, side: str) -> str:
    """For a right-side sample, the left row of a table is read from the right limb (mirror)."""
    if side != "R":
        return name
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def budget(rows: list[dict]) -> dict:
    """Error-budget table (tools.geometry.error_budget layout) from the fit's errors."""
    from tools.geometry.angles import SPECS
    acc: dict = defaultdict(lambda: defaultdict(lambda: {"ms": [], "bias": [], "n": 0}))
    for r in rows:
        az = r["true_azimuth_deg"]
        if az is None:
            continue
        for name, e in r["errors"].items():
            if not e.get("after") or name not in SPECS:
                continue
            if name.startswith("right_"):
                key, a = "left_" + name[6:], -az
            elif name.startswith("left_"):
                key, a = name, az
            else:
                key, a = name, abs(az)
            grid = min(GRID, key=lambda g: abs(_wrap(a - g)))
            if grid == -180.0:
                grid = 180.0
            cell = acc[key][(grid, r["lens_height_m"])]
            cell["ms"].append(e["after"]["ms"])
            cell["bias"].append(e["after"]["bias"])
            cell["n"] += 1
    out = {}
    for key, cells in sorted(acc.items()):
        views = []
        for (a, h), c in sorted(cells.items()):
            views.append({"azimuth_deg": float(a), "camera_height_m": float(h),
                          "sd": round(float(math.sqrt(np.mean(c["ms"]))), 4),
                          "bias": round(float(np.mean(c["bias"])), 4), "n_clips": int(c["n"])})
        out[key] = {"unit": SPECS[key].unit, "views": views}
    return out


def write_budget(rows: list[dict], path: Path, command: str) -> None:
    import yaml
    table = {
        "version": 1,
        "source": "knowledge/error_budget.yaml",
        "generated_by": command,
        "generated": time.strftime("%Y-%m-%d"),
        "method": ("rendered synthetic clips (tools.synth) of the seven FMS tests, MediaPipe pose, the fit of "
                   "tools.geometry.fit; per measurement, view azimuth (deg, 0 = in front of the athlete, +90 = on "
                   "their left) and lens height (m): sd = RMS error over every frame of every clip, bias = mean "
                   "error, in the measurement's unit; left-limb rows (right limbs are read at the mirrored azimuth)"),
        "clips": len(rows),
        "measurements": budget(rows),
    }
    header = ("# Per-view error budget of FormScout's measurements from one video (data, read by path by\n"
              "# tools/geometry/error_budget.py). Regenerate with the command in `generated_by`; do not edit by hand.\n")
    path.write_text(header + yaml.safe_dump(table, sort_keys=False, width=120))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", default="tune", help="tune, heldout or budget (benchmarks/angle_clips.py)")
    p.add_argument("--cache", required=True, help="folder of rendered + posed clips (filled on first use)")
    p.add_argument("--tests", default=",".join(TESTS))
    p.add_argument("--azimuths", default="", help="only these azimuths (comma-separated)")
    p.add_argument("--heights", default="", help="only these lens heights in m (comma-separated)")
    p.add_argument("--samples", type=int, default=0, help="only the first N samples (seeds) per test")
    p.add_argument("--size", default="", help="'pose' (384x288) or WxH instead of the set's image size")
    p.add_argument("--json", default="", help="write every clip's figures here")
    p.add_argument("--markdown", default="", help="write the per-test MAE table (markdown) here")
    p.add_argument("--from-json", default="", help="re-print / re-tabulate the figures of an earlier --json run")
    p.add_argument("--write-budget", action="store_true", help="write knowledge/error_budget.yaml")
    p.add_argument("--budget-path", default=str(Path(__file__).resolve().parents[1] / "knowledge" / "error_budget.yaml"))
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    import logging
    logging.basicConfig(level=logging.WARNING)
    specs = select(clip_set(args.set, tuple(args.tests.split(",")), args.size), args.azimuths, args.heights,
                   args.samples)
    rows = json.loads(Path(args.from_json).read_text()) if args.from_json else []
    t0 = time.perf_counter()
    for i, spec in enumerate([] if args.from_json else specs):
        rows.append(evaluate_clip(spec, Path(args.cache)))
        print(f"[{i + 1}/{len(specs)}] {spec.clip_id} fit {rows[-1]['fit']['cpu_s']:.2f} s CPU "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    report_rows(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(rows))
    if args.write_budget:
        command = "benchmarks/bench_angles_video.py " + " ".join(a for a in (argv or sys.argv[1:]))
        write_budget(rows, Path(args.budget_path), command)
        print(f"error budget written to {args.budget_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
