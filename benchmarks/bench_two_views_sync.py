"""Do the two clips of a pair line up, and are clips of different tests kept apart? On bench_rubric_video pair runs.

    .venv/bin/python benchmarks/bench_rubric_video.py --view front --side-view side ... --out DIR
    .venv/bin/python benchmarks/bench_two_views_sync.py DIR

Reads every pair run folder of DIR (its `skeleton.npz` and `second_view/skeleton.npz`,
the prepared skeletons the screening step compared) and prints, with the
functions measure_second_view calls (tools.geometry.sync.align_clips, test
recognition on the second clip):
  - per true pair: correlation, lag (s) and whether it lines up / is recognised;
  - the offset found when the second clip is cut `--late-s` late and resampled to
    24 fps (the true offset is then --late-s);
  - over every main clip against every other test's second clip: how many line
    up, and how many would pass both checks (be fused).
"""
from __future__ import annotations

import argparse
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.core.fms import TESTS  # noqa: E402


def _recognised(skel, test: str) -> bool:
    from tools.scoring.rubric.recognize import asked_test_check, mismatch_reason, recognize_test
    rec = recognize_test(skel)
    rec.update(asked_test_check(test, rec))
    return not mismatch_reason(test, rec)


def main(argv: list[str] | None = None) -> int:
    from tools.core.skeleton import Skeleton
    from tools.geometry.sync import ALIGN_FPS, align_clips
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", help="the --out folder of a bench_rubric_video.py --side-view run")
    p.add_argument("--late-s", type=float, default=0.5)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    runs = sorted(r for r in Path(args.runs).glob("run_*") if (r / "second_view" / "skeleton.npz").is_file())
    if not runs:
        print(f"no pair runs (run_*/second_view/skeleton.npz) in {args.runs}")
        return 2
    main_of = {r.name: Skeleton.load(r / "skeleton.npz") for r in runs}
    side_of = {r.name: Skeleton.load(r / "second_view" / "skeleton.npz") for r in runs}
    test_of = {r.name: next(t for t in TESTS if f"_{t}_" in f"_{r.name[4:]}") for r in runs}
    fused = lined_up = 0
    lags = []
    for name in main_of:
        al = align_clips(main_of[name], side_of[name])
        ok = _recognised(side_of[name], test_of[name])
        lined_up += al.same_movement
        fused += al.same_movement and ok
        r = "-" if al.correlation is None else f"{al.correlation:.2f}"
        print(f"{name:48s} r {r:>5s}  lag {al.lag_s if al.lag_s is None else round(al.lag_s, 3)}  lines up "
              f"{al.same_movement}  recognised {ok}")
        if al.same_movement:
            s = side_of[name]
            k = int(round(args.late_s * s.fps))
            late = s.replace(xyz=s.xyz[k:], conf=s.conf[k:], uv=None if s.uv is None else s.uv[k:]).resampled(24.0)
            found = align_clips(main_of[name], late).lag_s
            if found is not None:
                lags.append(found)
    print(f"true pairs: {lined_up}/{len(runs)} line up, {fused}/{len(runs)} pass both checks")
    if lags:
        lags_a = np.array(lags)
        near = int(np.sum(np.abs(lags_a - args.late_s) <= 1.0 / ALIGN_FPS + 1e-9))
        print(f"second clip {args.late_s} s late at 24 fps: offset found {np.round(np.sort(lags_a), 3).tolist()}; "
              f"{near}/{len(lags)} within one alignment step ({1.0 / ALIGN_FPS:.3f} s)")
    n = aligned = both = 0
    for a, b in itertools.product(main_of, side_of):
        if test_of[a] == test_of[b]:
            continue
        al = align_clips(main_of[a], side_of[b])
        n += 1
        aligned += al.same_movement
        both += al.same_movement and _recognised(side_of[b], test_of[a])
    print(f"pairs of different tests: {aligned}/{n} line up in time, {both}/{n} pass both checks (would be fused)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
