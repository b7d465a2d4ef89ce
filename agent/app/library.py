"""The Library tab's plain work: similar physio-scored clips, clip search, and what an `index add` did.

Similar clips are shown as context, never as a vote on a clip's score
(tools.report.similar says how close together their similarities are). Every
catalog connection takes the catalog's own inter-process lock
(index.storage.lock), so nothing here holds an app-wide lock.
"""
from __future__ import annotations

from pathlib import Path

from agent.app.display import esc
from agent.app.paths import AppLimits
from agent.app.uploads import check_clip_upload
from tools.core.errors import InputError


def similar_clips(verdict: dict, *, db: str | None = None, k: int = 5) -> tuple[list[dict], str]:
    """Physio-scored library clips nearest in motion to this run's skeleton, with a note for the page.

    Uses the neighbours the run itself retrieved when it did; else asks the
    library (index.library.api.Library.search_clips), same test and side.
    """
    evidence = verdict.get("evidence") or {}
    found = evidence.get("neighbours")
    if found:
        return list(found), "neighbours the run retrieved"
    skeleton = (verdict.get("artifacts") or {}).get("skeleton_npz")
    if not skeleton or not Path(skeleton).is_file():
        return [], "no skeleton was measured, so there is nothing to compare"
    from index.library.api import Library
    side = verdict.get("side") if verdict.get("side") in ("L", "R") else None
    try:
        with Library(db, read_only=True) as lib:
            if lib.catalog.stats()["clips"] == 0:
                return [], ("the library has no physio-scored clips yet: add labelled clips on the "
                            "Library tab")
            res = lib.search_clips(skeleton, test=verdict["test"], side=side, k=k)
    except InputError as exc:
        return [], f"similar clips unavailable: {exc}"
    hits = [h for h in res.to_dict()["hits"]]
    if not hits:
        return [], f"no physio-scored {verdict['test'].replace('_', ' ')} clips in the library yet"
    return hits, f"{len(hits)} nearest physio-scored clips ({res.embedder} {res.embedder_version})"


def search_library(clip_id: str | None, file_path: str | None, limits: AppLimits, *, test: str | None = None,
                   side: str | None = None, k: int = 5, db: str | None = None) -> tuple[list[dict], str]:
    """Library clips nearest in motion to an uploaded clip/skeleton, or to a clip already in the library.

    A clip id is looked up in the catalog and its stored skeleton used: text
    from the browser is never taken as a file path.
    """
    from index.library.api import Library
    from tools.core.skeleton import Skeleton
    with Library(db, read_only=True) as lib:
        if file_path:
            query, exclude = str(check_clip_upload(file_path, limits)), None
        elif str(clip_id or "").strip():
            from index.library.labels import check_id
            try:
                cid = check_id(str(clip_id), "clip id")
            except ValueError as exc:
                raise InputError(str(exc)) from None
            rec = lib.catalog.clip(cid)
            if rec is None:
                raise InputError(f"No clip {cid!r} in the library; the Library summary lists what is there.")
            query, exclude = Skeleton.load(lib.paths.abs(rec.skeleton_path)), rec.clip_id
        else:
            raise InputError("Give a clip id from the library, or upload a clip or skeleton to compare.")
        res = lib.search_clips(query, test=test, side=side, k=k, exclude_clip_id=exclude)
    hits = res.to_dict()["hits"]
    note = f"{len(hits)} clips ({res.embedder} {res.embedder_version})" if hits else "No matching clips."
    return hits, note


def add_summary_markdown(summary: dict) -> str:
    """The added / skipped / refused / failed rows of an `index add`, for the page."""
    counts = summary.get("counts") or {k: len(summary.get(k) or []) for k in ("added", "skipped", "refused", "failed")}
    lines = [f"**Added {counts['added']}**, skipped {counts['skipped']}, refused {counts['refused']}, "
             f"failed {counts['failed']}."]
    for item in summary.get("added") or []:
        lines.append(f"- added {esc(item['clip_id'])} ({esc(item['athlete_id'])}, {esc(item['test_name'])} "
                     f"{esc(item['side'])}, physio score {esc(item['score'])})")
    for key, word in (("refused", "refused"), ("failed", "failed"), ("skipped", "skipped")):
        for item in summary.get(key) or []:
            lines.append(f"- {word}: row {esc(item.get('row', ''))} {esc(item.get('clip_id', ''))}: "
                         f"{esc(item.get('reason', ''))}")
    if counts["refused"]:
        lines.append("\nRefused rows were not opened or stored: consent (or guardian consent for a minor) "
                     "must be on file first.")
    return "\n".join(lines)
