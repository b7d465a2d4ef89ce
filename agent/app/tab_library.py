"""The app's Library tab: add labelled clips, search similar clips and passages, erase an athlete."""
from __future__ import annotations

import logging

from agent.app.config import AppConfig
from agent.app.display import (
    SIMILAR_HEADERS,
    TEST_LABELS,
    esc,
    similar_note,
    similar_rows,
)
from agent.app.library import add_summary_markdown, search_library
from agent.app.messages import bug, problem
from agent.app.paths import AppPaths
from agent.app.screening import check_athlete_id
from agent.app.uploads import stage_library_upload
from tools.core.errors import InputError

log = logging.getLogger("formscout.app")


def library_tab(cfg: AppConfig):
    import gradio as gr

    from index.library.api import Library
    from tools.core.fms import TESTS

    stats_md = gr.Markdown("", elem_id="library_stats")

    def stats() -> str:
        try:
            with Library(cfg.db) as lib:
                s = lib.stats()
        except InputError as exc:
            return problem(str(exc))
        per_test = ", ".join(f"{TEST_LABELS.get(t, t)} {d['clips']}" for t, d in s["tests"].items()) or "none"
        return (f"**Library:** {s['clips']} physio-scored clips ({s['synthetic_clips']} synthetic) of "
                f"{s['athletes']} athletes; {s['passages']} rubric passages; {s['runs']} screening runs. "
                f"Clips per test: {per_test}.")

    with gr.Accordion("Add labelled clips", open=True):
        gr.Markdown("Upload the physio's labels CSV (clip_id, athlete_id, date, test_name, side, score, pain, "
                    "compensation_notes, camera_view, consent_on_file) and the clip files it names "
                    "(`<clip_id>.mp4` or `<clip_id>.npz`). Rows without consent on file are refused and never opened. "
                    "Only skeletons are stored unless you ask to keep the videos.")
        with gr.Row():
            labels_csv = gr.File(label="Labels CSV", file_count="single", type="filepath", elem_id="labels_csv")
            clip_files = gr.File(label="Clip files", file_count="multiple", type="filepath", elem_id="label_clips")
        keep_video = gr.Checkbox(label="Keep a copy of the raw videos (default: skeletons only)", value=False)
        add_btn = gr.Button("Add to the library", variant="primary", elem_id="add_button")
        add_result = gr.Markdown("", elem_id="add_result")

    def on_add(csv_path, files, keep, progress=gr.Progress()):
        try:
            folder = stage_library_upload(csv_path, files, cfg.paths, cfg.limits)
        except InputError as exc:
            return problem(str(exc)), stats()
        try:
            with Library(cfg.db) as lib:
                summary = lib.add_labels(folder / "labels.csv", folder / "clips", keep_video=bool(keep),
                                         progress=lambda done, total: progress((done, total), desc="adding clips"))
            return add_summary_markdown(summary.to_dict()), stats()
        except InputError as exc:
            return problem(str(exc)), stats()
        except Exception:  # noqa: BLE001
            return bug("adding the clips"), stats()
        finally:
            import shutil
            shutil.rmtree(folder, ignore_errors=True)

    add_btn.click(on_add, [labels_csv, clip_files, keep_video], [add_result, stats_md], concurrency_limit=1)

    with gr.Accordion("Search the library", open=False):
        with gr.Row():
            query_id = gr.Textbox(label="Clip id in the library", elem_id="search_clip_id")
            query_file = gr.File(label="...or a clip / skeleton to compare", file_count="single", type="filepath",
                                 elem_id="search_file")
        with gr.Row():
            s_test = gr.Dropdown(choices=[("Any test", "")] + [(TEST_LABELS[t], t) for t in TESTS], value="",
                                 label="Test")
            s_side = gr.Radio(choices=[("Any", ""), ("Left", "L"), ("Right", "R")], value="", label="Side")
            s_k = gr.Slider(1, 20, value=5, step=1, label="How many")
        search_btn = gr.Button("Find similar clips", elem_id="search_button")
        search_note = gr.Markdown("", elem_id="search_note")
        search_table = gr.Dataframe(headers=SIMILAR_HEADERS, value=[], interactive=False, wrap=True,
                                    elem_id="search_results")
        passage_q = gr.Textbox(label="Search the rubric passages", placeholder="e.g. heels rise in the deep squat",
                               elem_id="passage_query")
        with gr.Row():
            passage_btn = gr.Button("Search passages", elem_id="passage_button")
            sync_btn = gr.Button("Index the rubric passages (after an update of the knowledge base)",
                                 elem_id="passage_sync")
        passage_note = gr.Markdown("", elem_id="passage_note")
        passage_table = gr.Dataframe(headers=["Similarity", "Passage id", "Title", "Text"], value=[],
                                     column_widths=["9%", "27%", "19%", "45%"],
                                     interactive=False, wrap=True, elem_id="passage_results")

    def on_search(clip_id, file_path, test_name, side_name, k):
        try:
            hits, note = search_library(clip_id, file_path, cfg.limits, test=test_name or None,
                                        side=side_name or None, k=int(k), db=cfg.db)
        except InputError as exc:
            return problem(str(exc)), []
        return similar_note(hits, note), similar_rows(hits)

    def on_passages(text):
        try:
            with Library(cfg.db, read_only=True) as lib:
                if lib.catalog.stats()["passages"] == 0:
                    return "No rubric passages indexed yet: press 'Index the rubric passages' first.", []
                res = lib.search_passages(text or "", k=8)
        except InputError as exc:
            return problem(str(exc)), []
        return f"{len(res.hits)} passages ({res.embedder} {res.embedder_version})", \
            [[f"{h.similarity:.3f}", h.passage_id, h.title or "", h.text] for h in res.hits]

    def on_sync():
        from knowledge.passages import load_passages
        try:
            with Library(cfg.db) as lib:
                out = lib.sync_passages(load_passages())
        except InputError as exc:
            return problem(str(exc)), stats()
        return (f"Rubric passages: {out['added']} added, {out['removed']} removed, {out['unchanged']} unchanged "
                f"({esc(out['embedder'])} {esc(out['embedder_version'])})."), stats()

    search_btn.click(on_search, [query_id, query_file, s_test, s_side, s_k], [search_note, search_table])
    passage_btn.click(on_passages, passage_q, [passage_note, passage_table])
    passage_q.submit(on_passages, passage_q, [passage_note, passage_table])
    sync_btn.click(on_sync, None, [passage_note, stats_md], concurrency_limit=1)

    with gr.Accordion("Erase an athlete", open=False):
        gr.Markdown("Removes every clip, skeleton, vector, run, trace and overlay of one athlete. "
                    "This cannot be undone.")
        erase_id = gr.Textbox(label="Athlete id", elem_id="erase_athlete")
        erase_check = gr.Button("Show what would be erased", elem_id="erase_check")
        erase_plan = gr.Markdown("", elem_id="erase_plan")
        with gr.Row(visible=False) as confirm_row:
            erase_confirm = gr.Button("Yes, erase permanently", variant="stop", elem_id="erase_confirm")
            erase_cancel = gr.Button("Cancel", elem_id="erase_cancel")
        pending = gr.State("")

    def on_erase_check(athlete_id):
        try:
            aid = check_athlete_id(athlete_id)
            if not aid:
                raise InputError("Type the athlete id to erase.")
            with Library(cfg.db) as lib:
                clips = lib.catalog.clips_of_athlete(aid)
                runs = lib.catalog.runs(aid)
                known = lib.catalog.athlete(aid) is not None
        except InputError as exc:
            return problem(str(exc)), gr.update(visible=False), ""
        if not clips and not runs and not known:
            return (problem(f"No clips or runs of athlete {aid} in the library; check the id."),
                    gr.update(visible=False), "")
        plan = (f"**Erase athlete {esc(aid)}?** {len(clips)} clips (with their skeletons and vectors) and "
                f"{len(runs)} screening runs (traces, overlays, angle files) will be deleted for good.")
        return plan, gr.update(visible=True), aid

    def on_erase(aid):
        if not aid:
            return problem("Nothing to erase: check an athlete id first."), gr.update(visible=False), "", stats()
        try:
            with Library(cfg.db) as lib:
                rep = lib.erase_athlete(aid)
        except InputError as exc:
            return problem(str(exc)), gr.update(visible=False), "", stats()
        _drop_empty_run_folders(cfg.paths)
        rows = ", ".join(f"{k} {v}" for k, v in rep.rows.items())
        return (f"**Erased athlete {esc(aid)}**: rows {esc(rows)}; {len(rep.files)} files removed. Copies this "
                "page displayed leave the app's display cache within the hour.",
                gr.update(visible=False), "", stats())

    erase_check.click(on_erase_check, erase_id, [erase_plan, confirm_row, pending])
    erase_confirm.click(on_erase, pending, [erase_plan, confirm_row, pending, stats_md], concurrency_limit=1)
    erase_cancel.click(lambda: ("Nothing was erased.", gr.update(visible=False), ""), None,
                       [erase_plan, confirm_row, pending])
    return stats_md, stats


def _drop_empty_run_folders(paths: AppPaths) -> None:
    """Run folders whose files an erasure removed are removed too (only empty ones, only under runs/)."""
    for folder in sorted(paths.runs.glob("*/**/"), key=lambda p: len(p.parts), reverse=True) + \
            list(paths.runs.glob("*")):
        if folder.is_dir() and paths.contains(folder) and not any(folder.iterdir()):
            folder.rmdir()
