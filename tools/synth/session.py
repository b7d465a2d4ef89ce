"""A synthetic athlete's full FMS screen as skeleton files plus a session manifest (demo and tests).

    python -m tools.synth.session OUT_DIR [--seed 11] [--sex male]

One athlete (tools.synth.body), every test (both sides of the bilateral ones),
each clip drawn with tools.synth at a random target score and seen from the
view that judges it best. Writes OUT_DIR/<test>_<side>.npz, OUT_DIR/manifest.csv
and OUT_DIR/truth.json (the construction labels, for comparison only: the
session never reads it).
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from tools.core.fms import BILATERAL, TESTS

VIEWS = {"deep_squat": "45", "hurdle_step": "45", "inline_lunge": "45", "shoulder_mobility": "45",
         "active_straight_leg_raise": "side", "trunk_stability_pushup": "side", "rotary_stability": "45"}


def make_synthetic_session(out_dir: str | Path, seed: int = 11, sex: str = "male",
                           pain_tests: tuple[str, ...] = (), clearing_pain_tests: tuple[str, ...] = ()) -> Path:
    """Write the clips, manifest.csv and truth.json; returns the manifest path."""
    from tools.synth.body import make_athlete
    from tools.synth.library import auto_camera, make_sample, truth_skeleton
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    athlete = make_athlete(rng, index=seed, sex=sex)
    rows, truth = [], {}
    for k, test in enumerate(TESTS):
        for j, side in enumerate(("L", "R") if test in BILATERAL else ("NA",)):
            # the same seed for L and R of a test would mirror one clip: draw each side on its own
            sample = make_sample(test, seed * 100 + 10 * k + j, score=int(rng.integers(1, 4)), side=side,
                                 athlete=athlete)
            name = f"{test}_{side}.npz"
            truth_skeleton(sample, auto_camera(sample, VIEWS[test])).save(out / name)
            rows.append({"clip": name, "test": test, "side": "" if side == "NA" else side,
                         "pain": "yes" if test in pain_tests else "",
                         "clearing_pain": "yes" if test in clearing_pain_tests and j == 0 else "",
                         "heels_raised": ("yes" if sample.knobs.heel_board else "no") if test == "deep_squat" else "",
                         "hand_length_m": f"{athlete.hand_length_m:.3f}" if test == "shoulder_mobility" else ""})
            truth[f"{test}_{side}"] = sample.label.to_dict()
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "truth.json").write_text(json.dumps({"athlete": athlete.to_dict(), "labels": truth}, indent=1))
    return manifest


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--sex", default="male", choices=["male", "female"])
    args = p.parse_args()
    print(make_synthetic_session(args.out_dir, args.seed, args.sex))


if __name__ == "__main__":
    main()
