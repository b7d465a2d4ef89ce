"""The runs behind the physio-chat question set: synthetic skeletons of all seven tests, screened by the agent.

    python -m tests.chat_corpus traces/question_set

writes one trace per run (traces/question_set/<run>/trace.json) and
questions.json: the question set with the answers `formscout ask` gives.

For every test (both sides of the bilateral ones) a synthetic athlete's
movement is drawn with tools.synth (ground-truth skeleton as a 45-degree camera
would frame it), screened with the protocol brain exactly as `formscout screen`
does, and filed under one synthetic athlete. Only each run's trace.json is
kept (the chat answers from traces alone). Deterministic: same seeds, same
movements; run ids and times differ per build. The runs search a demo library
of synthetic physio-scored clips (index.library.demo.seed_demo_library), so their
traces hold neighbours and retrieved rubric passages.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ATHLETE = "SYN-QSET-01"
# (run name, test, side, target score, pain, seed): scores 0-3 and both sides of every bilateral test
RUNS = (
    ("deep_squat", "deep_squat", "NA", 2, False, 11),
    ("hurdle_step_L", "hurdle_step", "L", 2, False, 12),
    ("hurdle_step_R", "hurdle_step", "R", 3, False, 12),
    ("inline_lunge_L", "inline_lunge", "L", 3, False, 13),
    ("inline_lunge_R", "inline_lunge", "R", 1, False, 14),
    ("shoulder_mobility_L", "shoulder_mobility", "L", 3, False, 15),
    ("shoulder_mobility_R", "shoulder_mobility", "R", 2, False, 16),
    ("active_straight_leg_raise_L", "active_straight_leg_raise", "L", 1, False, 17),
    ("active_straight_leg_raise_R", "active_straight_leg_raise", "R", 3, False, 17),
    ("trunk_stability_pushup", "trunk_stability_pushup", "NA", 3, True, 18),
    ("rotary_stability_L", "rotary_stability", "L", 2, False, 19),
    ("rotary_stability_R", "rotary_stability", "R", 2, False, 20),
)


def build_corpus(out_dir: str | Path, work_dir: str | Path | None = None) -> list[Path]:
    """Screen every run of RUNS; returns the trace files (out_dir/<name>/trace.json)."""
    import tempfile

    from index.library.demo import seed_demo_library
    from index.storage.paths import DB_ENV

    out_dir = Path(out_dir)
    work = Path(work_dir or tempfile.mkdtemp(prefix="formscout_qset_"))
    library = work / "library.duckdb"
    seed_demo_library(library, n_per_test=4, seed=0)      # physio-scored (synthetic) neighbours + passages
    old_db = os.environ.get(DB_ENV)
    os.environ[DB_ENV] = str(library)
    try:
        return _screen_all(out_dir, work)
    finally:
        if old_db is None:
            os.environ.pop(DB_ENV, None)
        else:
            os.environ[DB_ENV] = old_db


def _screen_all(out_dir: Path, work: Path) -> list[Path]:
    from agent.screening.protocol import ScreenRequest
    from agent.screening.run import screen
    from tools.synth.library import auto_camera, make_sample, truth_skeleton
    traces = []
    for name, test, side, score, pain, seed in RUNS:
        sample = make_sample(test, seed=seed, score=score, side=side, sample_id=f"qset_{name}")
        skel = truth_skeleton(sample, auto_camera(sample, "45"))
        npz = skel.save(work / f"{name}.npz")
        run_dir = work / name
        screen(ScreenRequest(source=str(npz), test=test, side=None if side == "NA" else side, pain=pain,
                             run_dir=str(run_dir), athlete_id=ATHLETE))
        dest = out_dir / name
        dest.mkdir(parents=True, exist_ok=True)
        # compact JSON: the hash chain is over canonical JSON, so whitespace does not matter to `trace verify`
        doc = json.loads((run_dir / "trace.json").read_text(encoding="utf-8"))
        (dest / "trace.json").write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n",
                                         encoding="utf-8")
        traces.append(dest / "trace.json")
    return traces


# The question set: (id, question, context, expected status). Context: {"athlete": ID} or {"run": run name}.
QUESTIONS = (
    ("q01", "why a 2 on left hurdle step?", {"athlete": ATHLETE}, "answered"),
    ("q02", "Why a 3 on the right hurdle step?", {"athlete": ATHLETE}, "answered"),
    ("q03", "Why did the deep squat get a 3?", {"athlete": ATHLETE}, "answered"),
    ("q04", "why a 2 on the deep squat?", {"athlete": ATHLETE}, "answered"),
    ("q05", "Why only a 1 on the right in-line lunge?", {"athlete": ATHLETE}, "answered"),
    ("q06", "What was measured on the left inline lunge?", {"athlete": ATHLETE}, "answered"),
    ("q07", "why a 3 on left shoulder mobility?", {"athlete": ATHLETE}, "answered"),
    ("q08", "Why did the right shoulder mobility score 2?", {"athlete": ATHLETE}, "answered"),
    ("q09", "why a 1 on the left ASLR?", {"athlete": ATHLETE}, "answered"),
    ("q10", "Explain the right active straight leg raise score", {"athlete": ATHLETE}, "answered"),
    ("q11", "why did the push-up get a 0?", {"athlete": ATHLETE}, "answered"),
    ("q12", "why a 2 on left rotary stability?", {"athlete": ATHLETE}, "answered"),
    ("q13", "Which criterion decided the right rotary stability?", {"athlete": ATHLETE}, "answered"),
    ("q14", "why a 3 on the right rotary stability?", {"athlete": ATHLETE}, "answered"),
    ("q15", "Why a 1 on the right hurdle step?", {"athlete": ATHLETE}, "answered"),
    ("q16", "why a 0?", {"athlete": ATHLETE}, "answered"),
    ("q17", "why a 2 on the left deep squat?", {"athlete": ATHLETE}, "answered"),
    ("q18", "why a 2 on the hurdle step?", {"athlete": ATHLETE}, "clarify"),
    ("q19", "Why a 2 on the shoulder mobility?", {"athlete": ATHLETE}, "clarify"),
    ("q20", "why a 1?", {"athlete": ATHLETE}, "clarify"),
    ("q21", "Will she get injured this season?", {"athlete": ATHLETE}, "clarify"),
    ("q22", "What should I prescribe for her hips?", {"athlete": ATHLETE}, "clarify"),
    ("q23", "What is the capital of France?", {"athlete": ATHLETE}, "clarify"),
    ("q24", "why a 2 on left hurdle step?", {"athlete": "SYN-NOBODY"}, "clarify"),
    ("q25", "why a 3 on the left lunge?", {"run": "deep_squat"}, "clarify"),
    ("q26", "why a 3 on the deep squat?", {"run": "deep_squat"}, "answered"),
)


def register(set_dir: str | Path, db: str | Path) -> None:
    """File every trace of the set under its athlete in the catalog at `db`."""
    from agent.trace.record import load_trace
    from index.library.api import record_run
    for path in sorted(Path(set_dir).glob("*/trace.json")):
        doc = load_trace(path)
        v = doc["verdict"]
        record_run(db=db, run_id=doc["run_id"], athlete_id=doc["athlete_id"], test=v["test"], side=v["side"],
                   score=v["score"], review=v["review"], trace_path=path, confidence=v["confidence"],
                   review_reasons=v["reasons"], created=_created(doc))


def _created(doc: dict):
    from datetime import datetime
    return datetime.fromisoformat(doc["started_at"]).replace(tzinfo=None)


def ask_all(set_dir: str | Path, db: str | Path) -> list[dict]:
    """Every question of QUESTIONS asked against the set; the answers as dicts."""
    from agent.chat.answer import ask
    out = []
    for qid, question, context, expected in QUESTIONS:
        run = str(Path(set_dir) / context["run"]) if "run" in context else None
        a = ask(question, athlete_id=context.get("athlete"), run=run, db=str(db))
        out.append({"id": qid, "question": question, "context": context, "expected_status": expected,
                    "answer": a.to_dict()})
    return out


def write_question_set(set_dir: str | Path) -> Path:
    """Ask every question against the set (in a scratch catalog) and write questions.json beside the traces."""
    import tempfile
    set_dir = Path(set_dir).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.duckdb"
        register(set_dir, db)
        answers = ask_all(set_dir, db)
    for a in answers:                                   # trace paths relative to the set folder
        run = a["answer"].get("run") or {}
        if run.get("trace"):
            run["trace"] = str(Path(run["trace"]).relative_to(set_dir.resolve()))
    path = set_dir / "questions.json"
    path.write_text(json.dumps(answers, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "traces/question_set").resolve()
    for path in build_corpus(target):
        print(path)
    print(write_question_set(target))
