"""Criterion-value error on rendered clips: the value each rubric criterion reads, fitted skeleton vs truth.

    .venv/bin/python benchmarks/bench_criterion_error.py --cache benchmarks/.cache/angles [--json OUT] [--markdown OUT]

The per-view error budget (knowledge/error_budget.yaml, bench_angles_video.py)
is the RMS error of each measurement series over every frame of a clip. A
criterion reads one value of that series (its extreme, or a median around the
deciding frame), so its error can be smaller or larger than the series'.
This script measures it directly on the budget clip set (benchmarks/angle_clips.py,
rendered and posed once into --cache; the same clips as the budget): for every
clip the fit (tools.geometry.fit) is prepared as the screening run prepares
it, each criterion's value is read by the test's rule module with no view gate
(tools.scoring.rubric.judge_clip on a skeleton without view metadata), the same
is read on the clip's truth skeleton, and the difference is kept. Prints per
test and criterion: the clips, the criterion's scale (the margin its threshold
calls clear-cut, in its unit), the RMS error of the criterion value, the
budget's series sd at those clips' views (median), and the mean |error| per
view azimuth, marking with * the views where it is within the scale.
Figures only; nothing is written to knowledge/.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from angle_clips import clip_set, ensure_clip, load_pose, select  # noqa: E402
from bench_angles_video import prepared  # noqa: E402


def clip_errors(spec, cache: Path) -> list[dict]:
    from tools.core.skeleton import Skeleton
    from tools.geometry.fit import fit_pose
    from tools.scoring.criteria import load_criteria
    from tools.scoring.rubric import judge_clip
    files = ensure_clip(spec, cache)
    truth = Skeleton.load(files["truth"])
    fitted, _ = fit_pose(load_pose(files["pose"]))
    measured = prepared(fitted)
    side = spec.side if spec.side in ("L", "R") else None
    truth_values = {c.id: c.value for c in judge_clip(truth, spec.test, side).criteria}
    spec_of = load_criteria()[spec.test]
    rows = []
    for c in judge_clip(measured.replace(meta={}), spec.test, side).criteria:   # no view meta: nothing gated
        rows.append({"clip": spec.clip_id, "test": spec.test, "azimuth_deg": spec.azimuth_deg,
                     "lens_height_m": spec.lens_height_m, "criterion": c.id, "measure": c.measure, "unit": c.unit,
                     "scale": float(spec_of[c.id].get("scale", 0) or 0), "truth": truth_values.get(c.id),
                     "fit": c.value})
    return rows


def table(rows: list[dict]) -> str:
    from tools.geometry.error_budget import expected_error
    by = defaultdict(list)
    for r in rows:
        if r["truth"] is not None and r["fit"] is not None:
            by[(r["test"], r["criterion"])].append(r)
    azimuths = sorted({r["azimuth_deg"] for r in rows})
    out = ["| test | criterion | clips | scale | criterion RMS | budget series sd | "
           + " | ".join(f"{a:.0f}" for a in azimuths) + " |", "|---|---|---|---|---|---|" + "---|" * len(azimuths)]
    for (test, cid), rs in sorted(by.items()):
        e = np.array([r["fit"] - r["truth"] for r in rs])
        sds = [expected_error(r["measure"], r["azimuth_deg"], r["lens_height_m"], from_video=True) for r in rs]
        sds = [s.sd for s in sds if s is not None]
        per = defaultdict(list)
        for r, x in zip(rs, e):
            per[r["azimuth_deg"]].append(abs(x))
        scale = rs[0]["scale"]
        cells = [("-" if a not in per else f"{np.mean(per[a]):.2g}" + ("*" if np.mean(per[a]) <= scale else ""))
                 for a in azimuths]
        out.append(f"| {test} | {cid} | {len(e)} | {scale:g} {rs[0]['unit']} | {np.sqrt(np.mean(e ** 2)):.3g} | "
                   f"{(f'{np.median(sds):.3g}' if sds else '-')} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", required=True, help="folder of rendered + posed clips (filled on first use)")
    p.add_argument("--set", default="budget")
    p.add_argument("--azimuths", default="0,30,45,60,90,180")
    p.add_argument("--heights", default="1.2,0.6")
    p.add_argument("--samples", type=int, default=1)
    p.add_argument("--size", default="pose")
    p.add_argument("--json", default="")
    p.add_argument("--markdown", default="")
    p.add_argument("--from-json", default="", help="re-tabulate an earlier --json run")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR)
    if args.from_json:
        rows = json.loads(Path(args.from_json).read_text())
    else:
        specs = select(clip_set(args.set, size=args.size), args.azimuths, args.heights, args.samples)
        rows = []
        for i, spec in enumerate(specs):
            rows += clip_errors(spec, Path(args.cache))
            print(f"[{i + 1}/{len(specs)}] {spec.clip_id}", file=sys.stderr, flush=True)
    md = table(rows)
    print(md)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(md + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
