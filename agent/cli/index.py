"""`formscout index`: the library of physio-scored clips and rubric passages.

  formscout index add LABELS.csv --clips DIR [--keep-video] [--skip-bad]   add labelled clips (consent-checked)
  formscout index add --passages                               index the rubric passages of knowledge/
  formscout index search CLIP_OR_NPZ [--test T] [--side S] [-k N]
  formscout index search --text "..." [--test T] [-k N]        rubric passages
  formscout index show CLIP_ID | stats | verify | repair | rebuild [--reembed]
  formscout index erase --athlete ID                           GDPR erasure of everything of one athlete

`add` reports every row's fate (added, duplicate, conflict, refused, invalid,
failed). A CSV with an invalid row adds nothing (exit 2, every row's fate on
stdout) unless --skip-bad adds the valid rows and lists the others. Clips are
found by the one clip resolver: the path column (absolute, relative to the CSV,
relative to --clips), else <clip_id>.npz/.mp4... in --clips, its skeletons/,
clips/ or videos/ sub-folder, or anywhere below it. `verify` finds every
mismatch between the catalog, the FAISS files and the library's files (exit 1);
`repair` fixes them. Several commands may use one library at once: writers wait
for each other behind the catalog's inter-process lock (at most
$FORMSCOUT_LOCK_TIMEOUT_S, default 60 s, then "catalog busy").

Every sub-command takes --db PATH (default $FORMSCOUT_DB, else
$FORMSCOUT_HOME/formscout.duckdb, FORMSCOUT_HOME defaulting to ~/.formscout)
and --json for a machine-readable summary on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys

from tools.core.errors import InputError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("index", help="the library of physio-scored clips: add, search, erase, verify",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="index_command", metavar="ACTION", required=True)

    def common(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--db", help="catalog file (default $FORMSCOUT_DB or ~/.formscout/formscout.duckdb)")
        sp.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
        sp.add_argument("--embedder", default="kinematic",
                        help="motion embedder: kinematic (default) or stgcn (needs its checkpoint)")
        sp.set_defaults(func=run)
        return sp

    a = common(sub.add_parser("add", help="add labelled clips (CSV + clip folder) or the rubric passages"))
    a.add_argument("labels", nargs="?", help="labels CSV (clip_id, athlete_id, date, test_name, side, score, "
                                             "pain, compensation_notes, camera_view, consent_on_file)")
    a.add_argument("--clips", help="folder holding <clip_id>.npz or <clip_id>.mp4 (or give a path column)")
    a.add_argument("--keep-video", action="store_true", help="keep a copy of each raw video (default: only "
                                                             "the skeleton is stored)")
    a.add_argument("--passages", action="store_true", help="index the rubric passages of knowledge/")
    a.add_argument("--batch-size", type=int, default=128, help="clips per committed batch (default 128)")
    a.add_argument("--pose", default="mediapipe", help="pose backend for videos (default mediapipe)")
    a.add_argument("--workers", type=int, default=1,
                   help="processes embedding skeletons in parallel on large imports (default 1)")
    a.add_argument("--skip-bad", action="store_true",
                   help="add the valid rows of a CSV that has invalid ones (listed), instead of adding nothing")

    s = common(sub.add_parser("search", help="nearest library clips to a clip, or rubric passages to a text"))
    s.add_argument("query", nargs="?", help="a .npz skeleton, a video, or a clip id in the library")
    s.add_argument("--text", help="search the rubric passages with this text instead")
    s.add_argument("--test", help="only clips/passages of this FMS test")
    s.add_argument("--side", help="only clips of this side (L, R or NA)")
    s.add_argument("-k", type=int, default=5, help="how many results (default 5)")
    s.add_argument("--pose", default="mediapipe", help="pose backend when the query is a video")

    sh = common(sub.add_parser("show", help="everything the library holds about one clip"))
    sh.add_argument("clip_id")
    common(sub.add_parser("stats", help="counts per test, side and score; stores"))
    e = common(sub.add_parser("erase", help="erase every clip, skeleton, vector, run and trace of an athlete"))
    e.add_argument("--athlete", required=True, help="athlete id")
    common(sub.add_parser("verify", help="prove the catalog and the FAISS stores agree (exit 1 if not)"))
    common(sub.add_parser("repair", help="fix every mismatch verify finds (FAISS files rewritten from the catalog, "
                                         "orphan vectors and clips without a skeleton dropped); exit 1 if any is left"))
    r = common(sub.add_parser("rebuild", help="recreate the FAISS stores from the catalog"))
    r.add_argument("--reembed", action="store_true",
                   help="re-embed every clip from its stored skeleton with the current embedder")


def _progress_bar(enabled: bool, desc: str):
    """A tqdm-backed (done, total) callback, or None when output is not a terminal."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit="clip", file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    return update, lambda: bar.close() if bar is not None else None


def _emit(args, payload: dict, text_lines: list[str]) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        print("\n".join(text_lines))


def run(args) -> int:
    from index.library.api import Library
    action = args.index_command
    if action == "add" and not args.labels and not args.passages:  # before any file is created
        raise InputError("give a labels CSV: formscout index add LABELS.csv --clips DIR (or --passages)")
    if action == "search" and not args.query and not args.text:
        raise InputError("give a clip to search with (a .npz, a video or a clip id), or --text \"...\"")
    read_only = action in ("search", "show", "stats")
    with Library(args.db, read_only=read_only, pose_backend=getattr(args, "pose", "mediapipe"),
                 motion_embedder=args.embedder) as lib:
        return ACTIONS[action](lib, args)


def _add(lib, args) -> int:
    if args.passages:
        if args.labels:
            raise InputError("give either LABELS.csv or --passages, not both")
        try:
            from knowledge.passages import load_passages
        except ImportError as exc:
            raise InputError(f"the rubric passages are not available ({exc}); nothing to index") from exc
        out = lib.sync_passages(load_passages())
        _emit(args, out, [f"passages: {out['added']} added, {out['removed']} removed, {out['unchanged']} unchanged "
                          f"({out['embedder']} {out['embedder_version']})"])
        return 0
    if not args.labels:
        raise InputError("give a labels CSV: formscout index add LABELS.csv --clips DIR (or --passages)")
    from index.library.labels import LabelsInvalid
    progress, close = _progress_bar(sys.stderr.isatty() and not args.json, "adding")
    try:
        summary = lib.add_labels(args.labels, args.clips, keep_video=args.keep_video,
                                 batch_size=args.batch_size, workers=args.workers,
                                 progress=progress, skip_bad=args.skip_bad)
    except LabelsInvalid as exc:
        _print_check(args, exc.check)       # every row's fate on stdout; the one-line error on stderr
        raise
    finally:
        close()
    d = summary.to_dict()
    lines = [f"added {len(summary.added)}, skipped {len(summary.skipped)}, refused {len(summary.refused)}, "
             f"failed {len(summary.failed)}" + (f", invalid {len(summary.invalid)} (--skip-bad)" if summary.invalid
                                                else "") + f" in {summary.seconds:.1f} s -> {summary.db}"]
    lines += [f"  invalid: row {item['row']} {item['clip_id']}: {item['reason']}" for item in d["invalid"]]
    for key in ("refused", "failed"):  # every refused or failed row is listed
        for item in d[key]:
            lines.append(f"  {key}: row {item.get('row')} {item['clip_id']} ({item.get('athlete_id', '')}): "
                         f"{item['reason']}" if key == "refused" else
                         f"  {key}: row {item.get('row')} {item['clip_id']}: {item['reason']}")
    by_reason: dict[str, list[str]] = {}
    for item in d["skipped"]:  # skipped rows grouped by reason
        by_reason.setdefault(item["reason"], []).append(item["clip_id"])
    for reason, ids in by_reason.items():
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        lines.append(f"  skipped {len(ids)}: {reason}: {shown}")
    _emit(args, d, lines)
    return 0


def _print_check(args, check) -> None:
    """Every row's fate of a labels CSV that was refused as a whole (nothing was added)."""
    bad = check.invalid_rows()
    fates = [{"row": r.row, "clip_id": r.clip_id, "fate": "valid (not added: other rows are invalid)", "reason": ""}
             for r in check.rows]
    fates += [{"row": r.row, "clip_id": r.clip_id, "fate": "refused", "reason": r.reason} for r in check.refused]
    fates += [{"row": line, "clip_id": ps[0].clip_id, "fate": "invalid",
               "reason": "; ".join(f"{p.field}: {p.reason}" for p in ps)} for line, ps in bad.items()]
    fates.sort(key=lambda f: f["row"])
    if args.json:
        print(json.dumps({"added": 0, "fates": fates, "invalid_rows": len(bad), "rows": check.n_rows}, indent=2))
    else:
        print(f"{check.path.name}: nothing added; {len(bad)} of {check.n_rows} rows are invalid "
              "(fix them, or add the valid rows with --skip-bad):")
        print("\n".join(f"  row {f['row']} {f['clip_id'] or '?'}: {f['fate']}" + (f": {f['reason']}" if f["reason"]
                        else "") for f in fates))


def _search(lib, args) -> int:
    if args.text and args.query:
        raise InputError("give either a clip (CLIP_OR_NPZ) or --text, not both")
    if args.text:
        res = lib.search_passages(args.text, test=args.test, k=args.k)
        lines = [f"{len(res.hits)} rubric passages ({res.embedder} {res.embedder_version})"]
        lines += [f"  {h.similarity:.3f}  [{h.passage_id}] {h.title or ''}: {h.text[:100]}" for h in res.hits]
        if not res.hits and lib.catalog.stats()["passages"] == 0:
            lines.append("  (no rubric passages indexed yet: run `formscout index add --passages`)")
    elif args.query:
        res = lib.search_clips(args.query, test=args.test, side=args.side, k=args.k)
        lines = [f"{len(res.hits)} nearest clips ({res.embedder} {res.embedder_version})"]
        lines += [f"  {h.similarity:.3f}  {h.clip_id}  {h.test_name} {h.side}  score {h.score}"
                  f"{'  pain' if h.pain else ''}{'  [synthetic]' if h.synthetic else ''}  {h.compensation_notes}"
                  for h in res.hits]
    else:
        raise InputError("give a clip to search with (a .npz, a video or a clip id), or --text \"...\"")
    _emit(args, res.to_dict(), lines)
    return 0


def _show(lib, args) -> int:
    d = lib.show(args.clip_id)
    _emit(args, d, [f"{k}: {v}" for k, v in d.items()])
    return 0


def _stats(lib, args) -> int:
    d = lib.stats()
    lines = [f"library {d['db']}: {d['clips']} clips ({d['synthetic_clips']} synthetic), "
             f"{d['athletes']} athletes, {d['passages']} passages, {d['runs']} runs"]
    for test, t in d["tests"].items():
        lines.append(f"  {test}: {t['clips']} clips, sides {t['by_side']}, scores {t['by_score']}")
    lines += [f"  store {s['store']}: {s['vectors']} vectors x {s['dim']}" for s in d["stores"]]
    _emit(args, d, lines)
    return 0


def _erase(lib, args) -> int:
    rep = lib.erase_athlete(args.athlete)
    lines = [f"erased athlete {rep.athlete_id}: rows {rep.rows}, vectors {rep.vectors_removed or 0}, "
             f"{len(rep.files)} files, {len(rep.folders)} folders"]
    lines += [f"  removed folder {f}" for f in rep.folders]
    lines += [f"  removed {f}" for f in rep.files]
    lines += [f"  kept {k}" for k in rep.kept]
    lines += [f"  already gone {f}" for f in rep.missing_files]
    _emit(args, rep.to_dict(), lines)
    return 0


def _verify(lib, args) -> int:
    rep = lib.verify()
    lines = ["verify: clean" if rep.clean else f"verify: {len(rep.problems)} problem(s)"]
    lines += [f"  problem: {p}" for p in rep.problems]
    lines += [f"  cleaned stray file {c}" for c in rep.cleaned]
    lines += [f"  {k}: {v}" for k, v in rep.checked.items()]
    _emit(args, rep.to_dict(), lines)
    return 0 if rep.clean else 1


def _repair(lib, args) -> int:
    rep = lib.repair()
    after = rep.after
    lines = [f"repair: {'clean' if after and after.clean else 'problems remain'}"]
    lines += [f"  fixed: {f}" for f in rep.fixed]
    lines += [f"  cleaned stray file {c}" for c in rep.cleaned]
    lines += [f"  still a problem: {p}" for p in (after.problems if after else [])]
    _emit(args, rep.to_dict(), lines)
    return 0 if after and after.clean else 1


def _rebuild(lib, args) -> int:
    progress, close = _progress_bar(sys.stderr.isatty() and not args.json and args.reembed, "re-embedding")
    try:
        out = lib.rebuild(reembed=args.reembed, progress=progress)
    finally:
        close()
    lines = [f"rebuilt {name}: {s['vectors']} vectors -> {s['file']}" for name, s in out["stores"].items()]
    lines += [f"re-embedded {k}: {v}" for k, v in out["reembedded"].items()]
    lines += [f"dropped store {n}" for n in out["dropped_versions"]]
    _emit(args, out, lines or ["nothing to rebuild: the library is empty"])
    return 0


ACTIONS = {"add": _add, "search": _search, "show": _show, "stats": _stats, "erase": _erase,
           "verify": _verify, "repair": _repair, "rebuild": _rebuild}
