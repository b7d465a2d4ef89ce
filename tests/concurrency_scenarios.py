"""Many FormScout commands at once on one library and one run root, and commands killed part-way.

Shared by tests/agent/test_concurrency.py, tests/agent/test_kill_sweep.py and
benchmarks/bench_concurrency.py. Every command is a real `formscout` process
(python -m agent.cli.main) started in one working folder, so they share the
default run root formscout_runs/ and the catalog named by FORMSCOUT_DB.

`stress(folder, n)`: n screens of n different skeleton clips started at the
same moment (each filed under an athlete, so each also writes to the
catalog), together with an `index add` of new clips, an `index erase` of
another athlete and index searches. Then every verdict is checked against its
own clip (clip sha256, the skeleton it was measured on, `trace verify` of its
folder with the clip) and `index verify` must be clean.

`kill_sweep(folder, ...)`: `index add` and `screen` killed with SIGKILL at
spread-out moments; after each kill `index verify` must be clean, every row
committed before stays, no file is left that the catalog does not name, and
every run folder is either incomplete (no verdict.json) or verifies intact.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TESTS = ("deep_squat", "hurdle_step", "inline_lunge", "shoulder_mobility", "active_straight_leg_raise",
         "trunk_stability_pushup", "rotary_stability")


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def env_for(folder: Path) -> dict:
    env = dict(os.environ, FORMSCOUT_HOME=str(folder / "home"), FORMSCOUT_DB=str(folder / "home" / "lib.duckdb"),
               PYTHONPATH=str(REPO), FORMSCOUT_LOCK_TIMEOUT_S="120")
    env.pop("PYTHONHASHSEED", None)
    return env


def formscout(args: list[str], folder: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "agent.cli.main", *args], cwd=folder, env=env_for(folder),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run(args: list[str], folder: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli.main", *args], cwd=folder, env=env_for(folder),
                          capture_output=True, text=True, timeout=timeout)


def write_labels(path: Path, rows: list[dict]) -> Path:
    from index.library.toy_clips import LABEL_COLUMNS
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(LABEL_COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return path


def toy_library(folder: Path, prefix: str, athletes: list[str], seed: int) -> Path:
    """Skeleton clips of every test and side for these athletes, with their labels.csv."""
    from index.library.toy_clips import toy_clip
    from tools.core.fms import BILATERAL
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for athlete in athletes:
        for test in TESTS:
            for side in (("L", "R") if test in BILATERAL else ("NA",)):
                cid = f"{prefix}-{athlete}-{test}-{side}"
                score = int(rng.integers(1, 4))
                toy_clip(test, score, side, rng).save(folder / f"{cid}.npz")
                rows.append({"clip_id": cid, "athlete_id": athlete, "date": "2025-02-01", "test_name": test,
                             "side": side, "score": score, "pain": "false", "compensation_notes": "",
                             "camera_view": "side", "consent_on_file": "true"})
    return write_labels(folder / "labels.csv", rows)


def screen_clips(folder: Path, n: int, seed: int = 5) -> list[Path]:
    """n different deep-squat skeletons (each its own depth and trunk angle: different bytes and scores)."""
    from tests.skeleton_factory import squat_clip
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        skel = squat_clip(depth_deg=float(rng.uniform(-25, 20)), trunk_deg=float(rng.uniform(20, 50)),
                          tibia_deg=float(rng.uniform(25, 45)))
        out.append(skel.save(folder / f"clip{i:02d}.npz"))
    return out


def _library_files(home: Path) -> set[str]:
    root = home / "lib_files"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def catalog_state(folder: Path) -> dict:
    """Clip ids, run ids and the files the catalog names (read-only, under the catalog lock)."""
    from index.storage.catalog import Catalog
    db = folder / "home" / "lib.duckdb"
    if not db.exists():
        return {"clips": set(), "runs": set(), "named": set()}
    with Catalog(db, read_only=True) as cat:
        clips = cat.all_clips()
        named = {c.skeleton_path for c in clips} | {c.video_path for c in clips if c.video_path}
        named |= {f"faiss/{r.file}" for r in cat.stores().values()}
        return {"clips": {c.clip_id for c in clips}, "runs": {r["run_id"] for r in cat.runs()}, "named": named}


# ----- the stress test ----------------------------------------------------------------------------------------
@dataclass
class StressResult:
    n: int
    wall_s: float
    screens_ok: int
    verdicts_own_clip: int
    traces_intact: int
    distinct_run_folders: int
    index_add_rc: int
    index_erase_rc: int
    searches_ok: int
    verify_clean: bool
    tracebacks: int
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (not self.problems and self.screens_ok == self.verdicts_own_clip == self.traces_intact
                == self.distinct_run_folders == self.n and self.verify_clean and self.tracebacks == 0)

    def to_dict(self) -> dict:
        return dict(asdict(self), passed=self.passed)


def prepare_stress(folder: Path, n: int) -> dict:
    """The library (base clips + a victim athlete), the clips to screen and the CSV to add meanwhile."""
    folder.mkdir(parents=True, exist_ok=True)
    base = toy_library(folder / "base", "BASE", ["ATH-B1", "ATH-B2"], seed=1)
    victim = toy_library(folder / "victim", "VIC", ["ATH-VICTIM"], seed=2)
    for labels in (base, victim):
        done = run(["index", "add", str(labels), "--clips", str(labels.parent)], folder)
        assert done.returncode == 0, done.stderr
    later = toy_library(folder / "later", "NEW", ["ATH-N1", "ATH-N2", "ATH-N3"], seed=3)
    return {"clips": screen_clips(folder / "clips", n), "later": later}


def stress(folder: Path, n: int = 8, searches: int = 3) -> StressResult:
    """n screens + index add + index erase + searches at once (see the module docstring)."""
    prep = prepare_stress(folder, n)
    clips = prep["clips"]
    t0 = time.perf_counter()
    procs = {f"screen{i}": formscout(["screen", str(c), "--test", "deep_squat", "--athlete", f"ATH-S{i}", "--json"],
                                     folder) for i, c in enumerate(clips)}
    procs["add"] = formscout(["index", "add", str(prep["later"]), "--clips", str(prep["later"].parent), "--json",
                              "--batch-size", "8"], folder)
    procs["erase"] = formscout(["index", "erase", "--athlete", "ATH-VICTIM", "--json"], folder)
    for k in range(searches):
        procs[f"search{k}"] = formscout(["index", "search", str(clips[k % n]), "--test", "deep_squat", "-k", "3",
                                         "--json"], folder)
    outs = {name: p.communicate(timeout=1800) + (p.returncode,) for name, p in procs.items()}
    wall = time.perf_counter() - t0
    problems: list[str] = []
    tracebacks = sum("Traceback" in err for _, err, _ in outs.values())
    for name, (_, err, rc) in outs.items():
        if rc != 0:
            problems.append(f"{name} exited {rc}: {err.strip()[-300:]}")
    ok = own = intact = 0
    folders = set()
    for i, clip in enumerate(clips):
        out, err, rc = outs[f"screen{i}"]
        if rc != 0:
            continue
        ok += 1
        verdict = json.loads(out.strip().splitlines()[-1])
        run_dir = Path(verdict["artifacts"]["run_dir"])
        folders.add(run_dir)
        on_disk = json.loads((run_dir / "verdict.json").read_text())
        hashes = on_disk["hashes"]
        skeleton = run_dir / "skeleton.npz"
        mine = _closest_clip(skeleton, clips) == i
        if hashes["clip_sha256"] == sha256(clip) and hashes["skeleton_sha256"] == sha256(skeleton) and mine:
            own += 1
        else:
            problems.append(f"screen{i}: the verdict in {run_dir} does not hold its own clip's hashes")
        check = run(["trace", "verify", str(run_dir), "--clip", str(clip), "--json"], folder)
        if check.returncode == 0 and json.loads(check.stdout)["intact"]:
            intact += 1
        else:
            problems.append(f"screen{i}: trace verify failed: {check.stdout[-300:]}")
    searches_ok = sum(outs[f"search{k}"][2] == 0 for k in range(searches))
    verify = run(["index", "verify", "--json"], folder)
    report = json.loads(verify.stdout) if verify.stdout.strip() else {"clean": False, "problems": [verify.stderr]}
    if not report["clean"]:
        problems += [f"index verify: {p}" for p in report["problems"]]
    state = catalog_state(folder)
    if any(c.startswith("VIC-") for c in state["clips"]):
        problems.append("the erased athlete still has clips")
    if len([c for c in state["clips"] if c.startswith("NEW-")]) != _rows(prep["later"]):
        problems.append("the concurrent index add did not add every clip")
    if len([r for r in state["runs"]]) < ok:
        problems.append("not every screen was filed in the catalog")
    return StressResult(n=n, wall_s=round(wall, 1), screens_ok=ok, verdicts_own_clip=own, traces_intact=intact,
                        distinct_run_folders=len(folders), index_add_rc=outs["add"][2], index_erase_rc=outs["erase"][2],
                        searches_ok=searches_ok, verify_clean=bool(report["clean"]), tracebacks=tracebacks,
                        problems=problems)


def _rows(labels: Path) -> int:
    with open(labels, newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def _closest_clip(skeleton: Path, clips: list[Path]) -> int:
    """Which input clip a run's (smoothed) skeleton was measured from: the one it is closest to."""
    from tools.core.skeleton import Skeleton
    xyz = Skeleton.load(skeleton).xyz
    dists = []
    for c in clips:
        other = Skeleton.load(c).xyz
        dists.append(np.inf if other.shape != xyz.shape else float(np.nanmean(np.abs(other - xyz))))
    return int(np.argmin(dists))


# ----- the kill -9 sweep --------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    kill_points: int = 0            # kills that landed while the command was still running
    finished_first: int = 0         # commands that ended before their kill time
    rows_lost: int = 0              # committed clips or runs missing after a later kill
    orphans: int = 0                # library files the catalog does not name, left after `index verify`
    strays_cleaned: int = 0         # files of interrupted writes that `index verify` swept
    verify_unclean: int = 0
    incomplete_run_folders: int = 0     # killed screens: folder without verdict.json (not a finished run)
    complete_run_folders: int = 0       # killed after the verdict: must verify intact
    complete_but_broken: int = 0        # a folder with verdict.json that does not verify (target 0)
    tracebacks: int = 0
    problems: list[str] = field(default_factory=list)
    timing_s: dict = field(default_factory=dict)   # one uninterrupted run of each command, for the kill times

    @property
    def passed(self) -> bool:
        return not (self.rows_lost or self.orphans or self.verify_unclean or self.complete_but_broken
                    or self.tracebacks or self.problems)

    def to_dict(self) -> dict:
        return dict(asdict(self), passed=self.passed)


def _kill_at(args: list[str], folder: Path, delay_s: float) -> tuple[bool, str]:
    """Start a command and SIGKILL it after delay_s; (killed while running, stderr)."""
    proc = formscout(args, folder)
    try:
        proc.wait(timeout=delay_s)
        killed = False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        killed = True
    _, err = proc.communicate(timeout=120)
    return killed, err


def _after_kill(folder: Path, result: SweepResult, before: dict) -> dict:
    verify = run(["index", "verify", "--json"], folder)
    report = json.loads(verify.stdout) if verify.stdout.strip() else {"clean": False, "problems": [verify.stderr],
                                                                       "cleaned": []}
    result.strays_cleaned += len(report.get("cleaned", []))
    if not report["clean"]:
        result.verify_unclean += 1
        result.problems += report["problems"][:3]
    state = catalog_state(folder)
    lost = (before["clips"] - state["clips"]) | (before["runs"] - state["runs"])
    result.rows_lost += len(lost)
    orphans = _library_files(folder / "home") - state["named"]
    result.orphans += len(orphans)
    if orphans:
        result.problems.append(f"orphan files: {sorted(orphans)[:3]}")
    return state


def _check_run_folders(folder: Path, result: SweepResult, seen: set[Path]) -> None:
    root = folder / "formscout_runs"
    for run_dir in sorted(root.iterdir()) if root.exists() else []:
        if run_dir in seen:
            continue
        seen.add(run_dir)
        if not (run_dir / "verdict.json").is_file():
            result.incomplete_run_folders += 1
            continue
        result.complete_run_folders += 1
        check = run(["trace", "verify", str(run_dir), "--json"], folder)
        if check.returncode != 0:
            result.complete_but_broken += 1
            result.problems.append(f"{run_dir.name}: {check.stdout[-300:]}")


def _timed(args: list[str], folder: Path) -> float:
    t0 = time.perf_counter()
    done = run(args, folder)
    assert done.returncode == 0, done.stderr[-500:]
    return time.perf_counter() - t0


def kill_sweep(folder: Path, add_points: int, screen_points: int, span: tuple[float, float] = (0.03, 0.95)
               ) -> SweepResult:
    """SIGKILL `index add` and `screen --athlete` at spread-out moments (see the module docstring).

    Each command is first run once to the end in a scratch folder to time it (T); its kill times are then
    spread evenly over [span[0] * T, span[1] * T], so the kills land from start-up to past the verdict
    whatever the machine's load (a kill after the end is counted in `finished_first`)."""
    folder.mkdir(parents=True, exist_ok=True)
    result = SweepResult()
    labels = toy_library(folder / "lib", "K", [f"ATH-K{i}" for i in range(6)], seed=9)     # 72 clips
    clip = screen_clips(folder / "clips", 1)[0]
    add_args = ["index", "add", str(labels), "--clips", str(labels.parent), "--batch-size", "4"]
    screen_args = ["screen", str(clip), "--test", "deep_squat", "--athlete", "ATH-K0"]
    calib = folder / "calibration"
    calib.mkdir()
    t_add, t_screen = _timed(add_args, calib), _timed(screen_args, calib)

    def spread(t: float, k: int) -> list[float]:
        lo, hi = span
        return [t * (lo + (hi - lo) * i / max(1, k - 1)) for i in range(k)]

    state = catalog_state(folder)
    seen: set[Path] = set()
    for args, delays in ((add_args, spread(t_add, add_points)), (screen_args, spread(t_screen, screen_points))):
        for delay in delays:
            killed, err = _kill_at(args, folder, delay)
            result.kill_points += killed
            result.finished_first += not killed
            result.tracebacks += "Traceback" in err and not killed
            state = _after_kill(folder, result, state)
            _check_run_folders(folder, result, seen)
    final = run(["index", "add", str(labels), "--clips", str(labels.parent), "--json"], folder)
    if final.returncode != 0 or len(catalog_state(folder)["clips"]) != _rows(labels):
        result.problems.append(f"the re-run of index add did not complete the library: {final.stderr[-300:]}")
    result.timing_s = {"index_add": round(t_add, 1), "screen": round(t_screen, 1)}
    return result
