"""`formscout trace verify FILE` / `trace publish FILE --out PAGE.html` / `trace list [DIR ...] [--athlete ID]`.

verify: exit 0 and "intact" when the trace matches its schema and its hash
chain (any one-character edit breaks it) and, for a trace in its run folder
(or a run folder given instead of the file), when verdict.json is the sealed
verdict and every file of the run has the sha256 the verdict recorded
(agent/trace/check.py; `--clip CLIP` also checks the clip itself); else exit 1
with every problem.
publish: one self-contained HTML page (agent/trace/publish.py); a page of a run
filed under an athlete is recorded in the catalog, so erasing the athlete removes it.
list: runs filed in the catalog (with --athlete), or trace files found under
the given folders (default: formscout_runs and traces), newest first.
"""
from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("trace", help="verify, publish or list run traces",
                       description="Check a run trace (schema + hash chain), render it as one HTML page, "
                                   "or list traces.")
    tsub = p.add_subparsers(dest="trace_command", metavar="ACTION", required=True)
    v = tsub.add_parser("verify", help="check schema, hash chain and the run's files: exit 0 if intact, 1 if not")
    v.add_argument("file", help="trace.json of a run, or its run folder")
    v.add_argument("--clip", default="", help="the clip the run scored: check that it is the one hashed in the verdict")
    v.add_argument("--json", action="store_true", help="print the check as JSON")
    pub = tsub.add_parser("publish", help="render one self-contained HTML page")
    pub.add_argument("file", help="trace.json of a run (its run folder holds the overlay and angles.csv)")
    pub.add_argument("--out", required=True, help="HTML file to write")
    pub.add_argument("--no-frames", action="store_true", help="leave every video frame out (personal data)")
    pub.add_argument("--keyframes", type=int, default=4, help="how many keyframes to show (default 4)")
    ls = tsub.add_parser("list", help="list traces (from folders, or an athlete's runs in the catalog)")
    ls.add_argument("dirs", nargs="*", help="folders to search (default: formscout_runs traces)")
    ls.add_argument("--athlete", default="", help="list this athlete's runs from the catalog instead")
    ls.add_argument("--db", default="", help="catalog file (default: FORMSCOUT_DB or ~/.formscout)")
    ls.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=run)


def run(args) -> int:
    return {"verify": _verify, "publish": _publish, "list": _list}[args.trace_command](args)


def _verify(args) -> int:
    from agent.trace.check import check_trace, locate
    from agent.trace.record import load_trace
    trace_file, folder = locate(args.file)
    check = check_trace(load_trace(trace_file), folder=folder, clip=args.clip or None)
    if args.json:
        print(json.dumps(dict(check.to_dict(), file=str(args.file))))
    elif check.intact:
        files = f", {check.files_checked} run files match the verdict's hashes" if folder is not None else ""
        print(f"{args.file}: intact ({check.n_steps} steps hash-chained, schema valid, seal matches{files})")
        for note in check.notes:
            print(f"  note: {note}")
    else:
        print(f"{args.file}: NOT intact, {len(check.problems)} problem(s):")
        for problem in check.problems:
            print(f"  - {problem}")
    return 0 if check.intact else 1


def _publish(args) -> int:
    from agent.trace.publish import publish
    from tools.core.errors import InputError
    if args.keyframes < 0:
        raise InputError("--keyframes must be 0 or more")
    out = publish(args.file, args.out, frames=not args.no_frames, n_keyframes=args.keyframes)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB, self-contained)")
    _record_page(args.file, out)
    return 0


def _record_page(trace_file: str, page: Path) -> None:
    """A published page of a run filed under an athlete is recorded as theirs (erasure removes it)."""
    from agent.trace.record import load_trace
    try:
        from index.library.runs import athletes_of_run, record_output
    except ModuleNotFoundError:
        return
    run_id = load_trace(trace_file).get("run_id")
    for athlete in athletes_of_run(str(run_id)) if run_id else []:
        record_output(athlete_id=athlete, path=page, kind="file", owner_id=str(run_id))


def trace_summary(path: Path) -> dict | None:
    """A listing row for one trace file (None when the file is not a FormScout trace)."""
    from agent.trace.record import SCHEMA
    from agent.trace.check import check_trace
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        return None
    v = doc.get("verdict") or {}
    return {"trace": str(path), "run_id": doc.get("run_id"), "started_at": doc.get("started_at"),
            "athlete_id": doc.get("athlete_id"), "test": doc.get("test"), "side": v.get("side", doc.get("side")),
            "score": v.get("score"), "review": v.get("review"), "intact": check_trace(doc).intact}


def _list(args) -> int:
    if args.athlete:
        rows = _catalog_rows(args.athlete, args.db or None)
    else:
        dirs = [Path(d) for d in (args.dirs or ["formscout_runs", "traces"])]
        files = sorted({f for d in dirs if d.is_dir() for f in d.rglob("*.json")})
        rows = [r for r in (trace_summary(f) for f in files) if r]
        rows.sort(key=lambda r: r["started_at"] or "", reverse=True)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no traces found" + (f" for athlete {args.athlete}" if args.athlete else ""))
        return 0
    for r in rows:
        side = "" if r.get("side") in (None, "NA") else f" {r['side']}"
        verdict = "review" if r.get("score") is None else f"score {r['score']}" + (" (review)" if r.get("review") else "")
        if r.get("intact") is False:      # an edited trace: no score is shown (issue 19)
            verdict = "NOT intact: do not use this result"
        intact = {True: "intact", False: "NOT INTACT", None: "file missing"}[r.get("intact")]
        print(f"{str(r.get('started_at') or '')[:19]}  {r.get('test')}{side}: {verdict}  [{intact}]  {r['trace']}")
    return 0


def _catalog_rows(athlete_id: str, db: str | None) -> list[dict]:
    from agent.trace.record import load_trace
    from agent.trace.check import check_trace
    from index.storage.catalog import Catalog
    from index.storage.paths import resolve_db_path
    with Catalog(resolve_db_path(db), read_only=True) as cat:
        runs = cat.runs(athlete_id)
    rows = []
    for r in reversed(runs):
        path = Path(r["trace_path"]) if r.get("trace_path") else None
        intact = check_trace(load_trace(path)).intact if path and path.is_file() else None
        rows.append({"trace": str(path) if path else "", "run_id": r["run_id"], "started_at": str(r["created"]),
                     "athlete_id": r["athlete_id"], "test": r["test"], "side": r["side"], "score": r["score"],
                     "review": r["review"], "intact": intact})
    return rows
