"""Benchmark bad input, tried systematically: the broken-video corpus through the real CLI, and fuzzing.

Usage:
  .venv/bin/python benchmarks/bench_bad_inputs.py                    # corpus + 2000 examples per property
  .venv/bin/python benchmarks/bench_bad_inputs.py --examples 500

Corpus (tests/broken_videos.py: zero bytes, truncated mp4 two ways, text / PNG /
zip named .mp4, a video and a zip named .npz, audio only, one frame, a 4K
10-minute stream, a 4 GB sparse file, variable frame rate, a 45-degree rotation
tag, 16x16 px): each clip is given to `formscout screen` in its own process.
Counted: exit code 2, exactly one line on stderr, no traceback, nothing left in
the run root. Then every clip in one labels CSV through `formscout index add`
(exit 2, one line, every row's fate listed, nothing added).
Fuzz: the hypothesis properties of tests/tools/core/test_labels_fuzz.py (labels
CSV reader and the library's checks) and tests/tools/report/test_manifest_fuzz.py
(session manifest reader) run with FORMSCOUT_FUZZ_EXAMPLES examples each; an
exception other than a one-line InputError fails its property.
Figures only; no timed asserts.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.broken_videos import broken_corpus  # noqa: E402

FUZZ_FILES = ("tests/tools/core/test_labels_fuzz.py", "tests/tools/report/test_manifest_fuzz.py")
PROPERTIES = {"tests/tools/core/test_labels_fuzz.py": 3.5, "tests/tools/report/test_manifest_fuzz.py": 2}  # N each, round trip N/2


def _cli(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli.main", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def corpus(tmp: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), FORMSCOUT_HOME=str(tmp / "home"),
               FORMSCOUT_DB=str(tmp / "home" / "lib.duckdb"))
    cases = broken_corpus(tmp / "clips")
    work = tmp / "work"
    work.mkdir()
    rows = []
    for name, (path, needle) in sorted(cases.items()):
        t0 = time.perf_counter()
        p = _cli(["screen", str(path), "--test", "deep_squat"], work, env)
        err = p.stderr.strip()
        rows.append({"case": name, "rc": p.returncode, "one_line": err.count("\n") == 0 and bool(err),
                     "traceback": "Traceback" in p.stderr, "says": needle in err.replace(str(path), ""),
                     "left_behind": sorted(str(x.relative_to(work)) for x in work.rglob("*")),
                     "seconds": round(time.perf_counter() - t0, 2), "stderr": err[:160]})
    labels = tmp / "labels.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip_id", "athlete_id", "date", "test_name", "side", "score", "pain", "compensation_notes",
                    "camera_view", "consent_on_file", "path"])
        for name, (path, _) in sorted(cases.items()):
            w.writerow([name, "A1", "2025-01-01", "deep_squat", "NA", "2", "false", "", "side", "true", str(path)])
    add = _cli(["index", "add", str(labels), "--json"], work, env)
    fates = json.loads(add.stdout)["fates"] if add.stdout.strip() else []
    return {"cases": rows, "index_add": {"rc": add.returncode, "one_line": add.stderr.strip().count("\n") == 0,
                                         "traceback": "Traceback" in add.stderr,
                                         "rows_invalid": sum(f["fate"] == "invalid" for f in fates),
                                         "rows": len(cases)}}


def fuzz(examples: int) -> dict:
    env = dict(os.environ, FORMSCOUT_FUZZ_EXAMPLES=str(examples), PYTHONPATH=str(REPO))
    out = {}
    for f in FUZZ_FILES:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=3600)
        out[f] = {"passed": p.returncode == 0, "examples": int(examples * PROPERTIES[f]),
                  "seconds": round(time.perf_counter() - t0, 1), "summary": p.stdout.strip().splitlines()[-1:]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=2000, help="hypothesis examples per property (default 2000)")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_bad_inputs_") as tmp:
        c = corpus(Path(tmp))
    good = [r for r in c["cases"] if r["rc"] == 2 and r["one_line"] and not r["traceback"] and not r["left_behind"]]
    print(f"broken-video corpus through `formscout screen`: {len(c['cases'])} cases; exit 2 + one line + nothing "
          f"written: {len(good)}; tracebacks: {sum(r['traceback'] for r in c['cases'])}")
    for r in c["cases"]:
        print(f"  {r['case']:22s} rc {r['rc']}  one line {r['one_line']}  says it {r['says']}  "
              f"left behind {len(r['left_behind'])}  {r['seconds']:.1f} s  | {r['stderr'][:110]}")
    a = c["index_add"]
    print(f"  all {a['rows']} in one labels CSV -> index add: rc {a['rc']}, one line {a['one_line']}, "
          f"rows listed invalid {a['rows_invalid']}/{a['rows']}, traceback {a['traceback']}")
    f = fuzz(args.examples)
    total = sum(v["examples"] for v in f.values())
    print(f"fuzz: {total} generated files ({args.examples} per property); properties failed (a traceback or a "
          f"multi-line error): {sum(not v['passed'] for v in f.values())}")
    for name, v in f.items():
        print(f"  {name}: {v['examples']} examples, {'all passed' if v['passed'] else 'FAILED'} in {v['seconds']} s "
              f"{v['summary']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"corpus": c, "fuzz": f}, indent=2))
    return 0 if len(good) == len(c["cases"]) and all(v["passed"] for v in f.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
