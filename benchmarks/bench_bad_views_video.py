"""Bad camera input for the measurement stage: each clip must give a clear reason in the verdict.

    .venv/bin/python benchmarks/bench_bad_views_video.py [--out DIR] [--test deep_squat] [--seed 8100000]

Renders one synthetic clip of `--test` (tools.synth, 384x288, a 45-degree view)
and makes from it:
  feet_cut        the bottom of every frame cut off (the feet never in the picture)
  steep_above     the same movement rendered from a lens 3.2 m up, looking down
  rotated_tagged  the frames stored turned 90 deg with a display-rotation tag, as a
                  phone writes a portrait clip (the reader must turn it upright)
  rotated_untagged the frames turned 90 deg and no tag (a re-encode that lost it)
then screens each (agent.screening.run.screen, as `formscout screen` does) and
prints the verdict's headline, review flag and reasons. Figures only; the
assertions on the cheap parts live in tests/tools/geometry/test_fit_checks.py.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.errors import InputError  # noqa: E402


def make_clips(test: str, seed: int, out: Path) -> dict[str, Path]:
    from tools.synth.library import auto_camera, make_sample, render_video
    from tools.video.clip import iter_frames, probe_video, write_video
    out.mkdir(parents=True, exist_ok=True)
    from tools.core.fms import BILATERAL
    sample = make_sample(test, seed, side="L" if test in BILATERAL else "NA")
    base = render_video(sample, auto_camera(sample, "45", width=384, height=288), out / "base.mp4")
    fps = probe_video(base).fps
    clips = {"base": base}
    keep = int(288 * 0.62)               # above the knees of a figure filling the frame
    clips["feet_cut"] = write_video(out / "feet_cut.mp4", (f[:keep] for f in iter_frames(base)), fps)
    clips["steep_above"] = render_video(sample, auto_camera(sample, "45", width=384, height=288, height_m=3.2),
                                        out / "steep_above.mp4")
    # stored turned 90 deg counter-clockwise; the tag says "rotate 90 clockwise to view"
    clips["rotated_tagged"] = write_video(out / "rotated_tagged.mp4",
                                          (np.rot90(f, 1) for f in iter_frames(base)), fps, rotation_deg=90)
    clips["rotated_untagged"] = write_video(out / "rotated_untagged.mp4",
                                            (np.rot90(f, 1) for f in iter_frames(base)), fps)
    return clips


def screen_clip(name: str, video: Path, test: str, out: Path) -> dict:
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    import time
    kw = {"heels_raised": "no"} if test == "deep_squat" else {}
    run = out / f"run_{name}_{time.strftime('%Y%m%d-%H%M%S')}"          # a run never writes into an earlier one
    try:
        v = screen(ScreenRequest(source=str(video), test=test, run_dir=str(run), **kw))
    except InputError as exc:
        return {"clip": name, "error": str(exc)}
    fit = {}
    trace = run / "trace.json"
    if trace.is_file():
        for step in json.loads(trace.read_text()).get("steps", []):
            if step.get("tool") == "fit_skeleton":
                r = step.get("result", {})
                fit = {k: r.get(k) for k in ("fitted", "camera_pitch_deg", "camera_height_m", "camera_roll_deg",
                                             "view_azimuth_deg", "problems", "reason")}
                fit["rotation_deg"] = (r.get("camera") or {}).get("metadata", {}).get("rotation_deg")
    return {"clip": name, "score": v["score"], "review": v["review"], "headline": v.get("headline"),
            "reasons": v["reasons"], "fit": fit}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="benchmarks/.cache/bad_views")
    p.add_argument("--test", default="deep_squat")
    p.add_argument("--seed", type=int, default=8_100_000)
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    out = Path(args.out)
    clips = make_clips(args.test, args.seed, out)
    rows = []
    for name, video in clips.items():
        row = screen_clip(name, video, args.test, out)
        rows.append(row)
        print(f"\n== {name} ({video.name})")
        if "error" in row:
            print(f"  input error: {row['error']}")
            continue
        print(f"  score {row['score']}{' REVIEW' if row['review'] else ''}; fit: {row['fit']}")
        for r in row["reasons"]:
            print(f"  - {r[:300]}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
