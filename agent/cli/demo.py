"""`formscout demo [--out DIR]`: score the bundled demo clip end to end.

Each demo run gets a fresh folder under out/demo/ (named like every run folder),
so the demo can be run again and again; `--out` names a new or empty folder
instead (a folder holding a finished run is refused, as for `screen`).

The demo clip is a rendered mannequin doing a deep squat (tools/assets/), so
its true joint angles are known: the demo also prints measured vs true knee
flexion, hip flexion and trunk inclination at the bottom of the squat.
"""
from __future__ import annotations

import json
from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "tools" / "assets"
DEMO_CLIP = ASSETS / "demo_deep_squat.mp4"
DEMO_TRUTH = ASSETS / "demo_deep_squat_truth.npz"
DEMO_RUN_ROOT = "out/demo"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="score the bundled demo clip end to end (verdict, trace, overlay)")
    p.add_argument("--out", default=None,
                   help=f"run folder, new or empty (default: a fresh folder under {DEMO_RUN_ROOT}/)")
    p.add_argument("--json", action="store_true", help="print the verdict and the truth check as JSON")
    p.add_argument("--no-library", action="store_true", help="do not seed the demo library of synthetic athletes")
    p.add_argument("--library-per-test", type=int, default=4, help="synthetic clips per test and side to seed")
    p.set_defaults(func=run)


def run(args) -> int:
    from agent.cli.screen import format_verdict
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    from tools.core.errors import InputError
    from tools.core.files import write_json_atomic
    from tools.core.skeleton import Skeleton
    from tools.study.truth import compare

    if not DEMO_CLIP.is_file():
        raise InputError(f"the bundled demo clip is missing ({DEMO_CLIP}); reinstall FormScout from a full clone")
    library = None
    if not args.no_library:
        # a small library of synthetic (SYN-) athletes, so retrieval has neighbours on a fresh machine;
        # seeding again is a no-op
        from index.library.demo import seed_demo_library
        library = seed_demo_library(n_per_test=args.library_per_test)
    out = args.out
    if not out:
        from agent.screening.run_folder import new_run_id, run_folder_name
        out = str(Path(DEMO_RUN_ROOT) / run_folder_name("deep_squat", new_run_id()))
    verdict = screen(ScreenRequest(source=str(DEMO_CLIP), test="deep_squat", run_dir=out,
                                   athlete_id="SYN-DEMO-0001"))
    truth_check = None
    if DEMO_TRUTH.is_file() and verdict["artifacts"]["skeleton_npz"]:
        truth = Skeleton.load(DEMO_TRUTH)
        measured = Skeleton.load(verdict["artifacts"]["skeleton_npz"])
        truth_check = compare(measured, truth)
        truth_check["true_label"] = truth.meta.get("label")
        write_json_atomic(Path(verdict["artifacts"]["run_dir"]) / "truth_check.json", truth_check)
    if args.json:
        print(json.dumps({"verdict": verdict, "truth_check": truth_check, "library": library}, default=str))
        return 0
    print("FormScout demo: bundled rendered deep squat (synthetic athlete SYN-DEMO-0001)")
    if library:
        print(f"  demo library (synthetic SYN- athletes, in the catalog): {library.get('counts')}")
    print(format_verdict(verdict))
    if truth_check:
        print(f"  measured vs true at the bottom of the squat (frame {truth_check['bottom_frame']}):")
        for name, m in truth_check["measures"].items():
            if m["measured_at_bottom"] is None or m["true_at_bottom"] is None:
                print(f"    {name}: not measured")
                continue
            print(f"    {name}: measured {m['measured_at_bottom']:.1f}, true {m['true_at_bottom']:.1f}, "
                  f"mean abs error over the clip {m['mae']:.1f} {m['unit']}")
        if truth_check.get("true_label") is not None:
            print(f"  true label of the rendered clip: {truth_check['true_label']}")
    return 0
