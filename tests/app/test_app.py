"""The app's plain-Python layer (agent/app/*.py) and app.py's set-up, without a browser."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agent.app.chat import ask_about
from agent.app.display import criteria_rows, verdict_markdown
from agent.app.library import search_library
from agent.app.paths import AppLimits, AppPaths
from agent.app.progress import PageProgress, ScreenQueue
from agent.app.runs import list_runs, publish_run, verify_run
from agent.app.screening import ScreenForm, run_screening
from agent.app.session import (
    athlete_history,
    run_session,
    scorecard_markdown,
    scorecard_rows,
)
from agent.app.uploads import (
    check_clip_readable,
    check_clip_upload,
    stage_demo_session,
    stage_library_upload,
    stage_session_upload,
)
from tests.skeleton_factory import squat_clip
from tools.core.errors import InputError

LABEL_HEADER = ["clip_id", "athlete_id", "date", "test_name", "side", "score", "pain", "compensation_notes",
                "camera_view", "consent_on_file"]


@pytest.fixture
def paths(tmp_path) -> AppPaths:
    return AppPaths.default(tmp_path / "app").ensure()


@pytest.fixture
def squat_npz(tmp_path) -> Path:
    return squat_clip(depth_deg=15, trunk_deg=30, tibia_deg=35).save(tmp_path / "squat.npz")


@pytest.fixture
def screened(paths, squat_npz, tmp_path):
    """One real screening run of a hand-built squat skeleton, through the app's path."""
    seen = []
    form = ScreenForm(clip_path=str(squat_npz), use_demo=False, test="deep_squat", side=None, pain=False,
                      heels_raised="auto", athlete_id="ATH-APP-1")
    out = run_screening(form, paths, AppLimits(), db=str(tmp_path / "lib.duckdb"),
                        progress=lambda f, d: seen.append((f, d)))
    return out, seen


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "lib.duckdb")


# ----- data folder and sandboxing ------------------------------------------------------------------------------
def test_default_data_folder_is_under_formscout_home(monkeypatch, tmp_path):
    monkeypatch.setenv("FORMSCOUT_HOME", str(tmp_path / "home"))
    assert AppPaths.default().root == (tmp_path / "home" / "app").resolve()


@pytest.mark.parametrize("name", ["../../etc", "/etc/passwd", "..", "", "20260101-000000_deep_squat_0000000g",
                                  "20260101-000000_deep_squat_00000000/../../x"])
def test_run_names_from_the_browser_never_leave_the_runs_folder(paths, name):
    with pytest.raises(InputError):
        paths.run_dir(name)


def test_unknown_but_well_formed_run_name_is_refused(paths):
    with pytest.raises(InputError, match="not in this app's data folder"):
        paths.run_dir("20260101-000000_deep_squat_00000000")


def test_symlink_out_of_the_runs_folder_is_refused(paths, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (paths.runs / "20260101-000000_deep_squat_0000abcd").symlink_to(outside)
    with pytest.raises(InputError):
        paths.run_dir("20260101-000000_deep_squat_0000abcd")
    assert not paths.contains(outside)


# ----- upload checks -------------------------------------------------------------------------------------------
def test_upload_checks_say_what_to_do(tmp_path):
    limits = AppLimits(max_upload_mb=0.001)
    with pytest.raises(InputError, match="No clip yet"):
        check_clip_upload(None, limits)
    txt = tmp_path / "notes.txt"
    txt.write_text("not a video")
    with pytest.raises(InputError, match=r"notes\.txt is a \.txt file, not a video clip"):
        check_clip_upload(txt, limits)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty \(0 bytes\)"):
        check_clip_upload(empty, limits)
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * 4096)
    with pytest.raises(InputError, match="over this app's limit"):
        check_clip_upload(big, limits)
    ok = tmp_path / "ok.MOV"
    ok.write_bytes(b"\0" * 10)
    assert check_clip_upload(ok, limits) == ok


def test_fake_video_is_refused_by_the_screening_run(paths, tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is text, not a video")
    form = ScreenForm(clip_path=str(fake), use_demo=False, test="deep_squat", side=None, pain=False,
                      heels_raised="auto")
    with pytest.raises(InputError) as err:
        run_screening(form, paths, AppLimits(), db=str(tmp_path / "lib.duckdb"))
    assert "fake.mp4" in str(err.value)


def test_side_for_a_one_sided_test_and_bad_athlete_id_are_input_errors(paths, squat_npz, tmp_path):
    bad_side = ScreenForm(str(squat_npz), False, "deep_squat", "L", False, "auto")
    with pytest.raises(InputError, match="scored once"):
        run_screening(bad_side, paths, AppLimits(), db=str(tmp_path / "lib.duckdb"))
    bad_id = ScreenForm(str(squat_npz), False, "deep_squat", None, False, "auto", athlete_id="../etc")
    with pytest.raises(InputError, match="athlete id"):
        run_screening(bad_id, paths, AppLimits(), db=str(tmp_path / "lib.duckdb"))


# ----- a real run through the app's path ----------------------------------------------------------------------
def test_screening_through_the_app_matches_the_cli_contract(screened, paths, tmp_path):
    out, seen = screened
    v = out.verdict
    assert out.run_dir.parent == paths.runs and paths.run_dir(out.run_name) == out.run_dir.resolve()
    assert v["test"] == "deep_squat" and v["score"] == 3 and v["review"] is False
    for key in ("trace_json", "overlay_mp4", "deciding_frame_png", "angles_csv", "skeleton_npz"):
        assert Path(v["artifacts"][key]).is_file() and paths.contains(v["artifacts"][key])
    # progress from the trace recorder, step by step, the bar moving forward; skeleton input has no pose step
    assert seen and seen[0][1].startswith("Step 1 of ") and not any("finding people" in d for _, d in seen)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] > 0.9
    # filed in the catalog under the athlete, with every file of the run (so erasure removes them)
    from index.storage.catalog import Catalog
    with Catalog(tmp_path / "lib.duckdb") as cat:
        runs = cat.runs("ATH-APP-1")
    assert [r["run_id"] for r in runs] == [v["run_id"]]
    assert runs[0]["score"] == 3 and runs[0]["trace_path"] == v["artifacts"]["trace_json"]
    assert v["artifacts"]["overlay_mp4"] in runs[0]["artifact_paths"]
    assert "no physio-scored clips" in out.similar_note


def test_criteria_table_and_verdict_text_come_from_the_verdict(screened):
    v = screened[0].verdict
    rows = criteria_rows(v)
    assert len(rows) == len(v["criteria"])
    by_name = {r[0]: r for r in rows}
    thigh = next(c for c in v["criteria"] if c["id"] == "thigh_below_horizontal")
    row = next(r for name, r in by_name.items() if name.startswith("Squat depth (thigh below horizontal)"))
    assert row[1] == f"{thigh['value']:.3g} {thigh['unit']}"
    assert row[2] == f"at least {thigh['threshold']:g} {thigh['unit']}"
    assert row[3] == "pass" and "positive when the hip sits below the knee" in row[5]
    assert any(name.endswith("(closest to failing)") for name in by_name)      # a pass has no decider
    text = verdict_markdown(v, 1.0)
    assert "Deep squat: score 3 of 3" in text and f"Confidence {v['confidence']:.2f}" in text
    assert "not a diagnosis" in text and "--" not in text


def test_criteria_rows_mark_not_judged_and_fail():
    verdict = {"deciding_criterion": "b", "criteria": [
        {"id": "a", "value": None, "unit": "deg", "threshold": 10, "pass_if": ">=", "passed": None,
         "deciding_frame": None, "reason": "needs a side view"},
        {"id": "b", "value": 0.2, "unit": "m", "threshold": 0.1, "pass_if": "<=", "passed": False,
         "deciding_frame": 12, "description": "dowel over feet"}]}
    rows = criteria_rows(verdict)
    assert rows[0][1:4] == ["not measured", "at least 10 deg", "not judged"] and rows[0][5].startswith("needs a side")
    assert rows[1][1:5] == ["0.2 m", "at most 0.1 m", "FAIL", "12"] and rows[1][0].endswith("(deciding criterion)")


def test_review_without_score_reads_as_review():
    text = verdict_markdown({"test": "hurdle_step", "side": "L", "score": None, "confidence": 0.0, "review": True,
                             "reasons": ["pose quality too low <script>"], "criteria": []})
    assert "Hurdle step, left: no score, physio review" in text and "<script>" not in text


def test_headlines_on_the_page_cannot_be_misread():
    base = {"test": "deep_squat", "side": "NA", "score": 1, "confidence": 1.0, "review": True,
            "reasons": ["dowel not overhead: fists above the head in only 18% of frames"],
            "notes": ["heels assumed flat on the floor; for the heels-raised repetition say so (--heels-raised yes)"],
            "deciding_criterion": "dowel_over_feet",
            "criteria": [{"id": "dowel_over_feet", "value": 0.264, "unit": "m", "threshold": 0.1, "pass_if": "<=",
                          "passed": False, "deciding_frame": 197}]}
    provisional = verdict_markdown(base)
    assert "## Deep squat: provisional 1, physio review" in provisional
    assert "1.00" not in provisional and "--heels-raised" not in provisional and "heels were on a board" in provisional
    rec = {"asked": "deep_squat", "asked_score": 0.0, "looks_like": None, "matches_asked": False}
    not_test = verdict_markdown(dict(base, test_recognition=rec))
    assert "## This does not look like a deep squat: no score" in not_test
    assert "provisional" not in not_test and "Deciding criterion" not in not_test
    broken = verdict_markdown(base, intact=False)
    assert "NOT intact: do not use this result" in broken and "provisional" not in broken


def test_runs_listed_and_verified_then_tamper_detected(screened, paths):
    out, _ = screened
    runs = list_runs(paths)
    assert [r.name for r in runs] == [out.run_name] and runs[0].score == 3 and runs[0].intact
    label = runs[0].label()
    assert label.startswith("ATH-APP-1, Deep squat, ") and label.endswith(": score 3") and "(run " in label
    assert verify_run(paths, out.run_name) == []
    trace_path = out.run_dir / "trace.json"
    doc = json.loads(trace_path.read_text())
    doc["verdict"]["score"] = 1
    trace_path.write_text(json.dumps(doc))
    assert verify_run(paths, out.run_name)
    broken = list_runs(paths)[0]
    assert not broken.intact and broken.label().endswith("NOT intact: do not use this result")
    assert "score" not in broken.label().split(")")[-1]


def test_page_progress_weighs_the_steps_and_counts_frames():
    from tools.core.progress import ProgressEvent
    seen = []
    planned = ["check_video", "estimate_pose", "lift_to_3d", "score_rubric", "decide", "render_overlay"]
    pp = PageProgress(lambda f, d: seen.append((f, d)), planned)
    pp(ProgressEvent("steps", 0, 6, "steps", "check_video: Check the clip."))
    pp(ProgressEvent("steps", 1, 6, "steps", "check_video: done"))
    pp(ProgressEvent("steps", 1, 6, "steps", "estimate_pose: Find the athlete's joints in every frame."))
    pp(ProgressEvent("decode", 100, 100))
    import time
    time.sleep(0.3)
    pp(ProgressEvent("pose", 40, 100))
    f_pose, text = seen[-1]
    assert text == ("Step 2 of 6: find the athlete's joints in every frame: reading the frames and finding people "
                    "100/100 frames, pose 40/100 frames")
    assert 0.3 < f_pose < 0.9                                    # pose is most of a video run, not a 1/6 slice
    pp(ProgressEvent("steps", 2, 6, "steps", "estimate_pose: done"))
    assert seen[-1][0] > f_pose and [f for f, _ in seen] == sorted(f for f, _ in seen)


def test_the_queue_runs_up_to_its_workers_and_tells_the_others_their_place():
    import threading
    import time
    q = ScreenQueue(workers=1, typical_s=12.0)
    told, inside = [], threading.Event()
    release = threading.Event()

    def first():
        with q.slot():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=first)
    t.start()
    inside.wait(5)
    t2 = threading.Thread(target=lambda: q.slot(on_wait=lambda f, d: told.append(d), poll_s=0.05).__enter__())
    t2.start()
    time.sleep(0.3)
    release.set()
    t.join(5)
    t2.join(5)
    assert told and told[0].startswith("Queued: number 1 in line (1 screening(s) running, 1 at a time)")
    assert "expected wait about 12 s" in told[0]


def test_uploads_are_checked_for_readability_and_duration_as_the_cli_does(tmp_path):
    from tools.video.clip import probe_video
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is text, not a video")
    with pytest.raises(InputError) as app_err:
        check_clip_readable(fake, AppLimits())
    with pytest.raises(InputError) as cli_err:
        probe_video(fake, max_duration_s=AppLimits().max_clip_s, max_size_mb=AppLimits().max_upload_mb)
    assert str(app_err.value) == str(cli_err.value) and "fake.mp4" in str(app_err.value)
    from agent.app.paths import DEMO_CLIP
    with pytest.raises(InputError, match="long"):
        check_clip_readable(DEMO_CLIP, AppLimits(max_clip_s=1.0))
    assert check_clip_readable(DEMO_CLIP, AppLimits()) == DEMO_CLIP


# ----- library uploads -----------------------------------------------------------------------------------------
def _labels(path: Path, rows: list[dict], extra: list[str] = ()) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=LABEL_HEADER + list(extra))
        w.writeheader()
        w.writerows(rows)
    return path


def _row(clip_id: str, **kw) -> dict:
    row = dict(clip_id=clip_id, athlete_id="ATH-1", date="2026-01-05", test_name="deep_squat", side="NA", score=2,
               pain="false", compensation_notes="heels rise", camera_view="side", consent_on_file="true")
    row.update(kw)
    return row


def test_staging_copies_only_uploaded_files(paths, squat_npz, tmp_path):
    clip = tmp_path / "C1.npz"
    clip.write_bytes(squat_npz.read_bytes())
    csv_path = _labels(tmp_path / "labels.csv", [_row("C1")])
    folder = stage_library_upload(csv_path, [clip], paths, AppLimits())
    assert paths.contains(folder) and (folder / "labels.csv").is_file() and (folder / "clips" / "C1.npz").is_file()


@pytest.mark.parametrize("path_value", ["/etc/passwd", "../../secret.npz", "sub/C1.npz", "other.npz"])
def test_labels_csv_cannot_point_outside_the_upload(paths, squat_npz, tmp_path, path_value):
    clip = tmp_path / "C1.npz"
    clip.write_bytes(squat_npz.read_bytes())
    csv_path = _labels(tmp_path / "labels.csv", [_row("C1", path=path_value)], extra=["path"])
    with pytest.raises(InputError, match="not one of the uploaded files"):
        stage_library_upload(csv_path, [clip], paths, AppLimits())
    assert not any(paths.staging.iterdir())


def test_staging_refuses_bad_uploads(paths, tmp_path):
    csv_path = _labels(tmp_path / "labels.csv", [_row("C1")])
    with pytest.raises(InputError, match="No labels CSV"):
        stage_library_upload(None, [], paths, AppLimits())
    with pytest.raises(InputError, match="No clip files"):
        stage_library_upload(csv_path, [], paths, AppLimits())
    doc = tmp_path / "C1.pdf"
    doc.write_bytes(b"%PDF")
    with pytest.raises(InputError, match="not a clip"):
        stage_library_upload(csv_path, [doc], paths, AppLimits())


# ----- app.py set-up -------------------------------------------------------------------------------------------
def test_launch_settings_bind_locally_and_serve_only_the_data_folder(paths, monkeypatch):
    import app
    monkeypatch.delenv(app.USER_ENV, raising=False)
    monkeypatch.delenv(app.PASSWORD_ENV, raising=False)
    cfg = app.AppConfig(paths=paths, limits=AppLimits(max_upload_mb=3))
    kw = app.launch_kwargs(cfg, "127.0.0.1", 7999)
    assert kw["server_name"] == "127.0.0.1" and kw["share"] is False and kw["auth"] is None
    assert kw["max_file_size"] == 3 * 1024 * 1024
    assert kw["allowed_paths"] and all(paths.contains(p) for p in kw["allowed_paths"])
    assert app.parse_args([]).host == "127.0.0.1"


def test_login_comes_from_the_environment(paths, monkeypatch):
    import app
    cfg = app.AppConfig(paths=paths)
    monkeypatch.setenv(app.USER_ENV, "physio")
    monkeypatch.setenv(app.PASSWORD_ENV, "s3cret")
    assert app.launch_kwargs(cfg, "127.0.0.1", None)["auth"] == ("physio", "s3cret")
    monkeypatch.delenv(app.PASSWORD_ENV)
    with pytest.raises(InputError, match="set both"):
        app.launch_kwargs(cfg, "127.0.0.1", None)
    assert app.main(["--data", str(paths.root)]) == 2


def test_app_builds_every_tab(paths):
    import gradio as gr

    import app
    demo = app.build_app(app.AppConfig(paths=paths))
    assert isinstance(demo, gr.Blocks)
    labels = {getattr(b, "label", None) for b in demo.blocks.values()}
    for tab in ("Screen a clip", "Session scorecard", "Ask", "Traces", "Library"):
        assert tab in labels


def test_a_click_on_the_first_frame_reaches_the_handler_with_its_pixel(paths):
    """Gradio passes the click (SelectData) only to a handler whose annotation it can resolve."""
    import gradio as gr
    from gradio.utils import get_type_hints

    import app
    demo = app.build_app(app.AppConfig(paths=paths))
    pick = [f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "on_pick"]
    assert len(pick) == 1
    assert get_type_hints(pick[0]).get("evt") is gr.SelectData


# ----- chat, publishing, history ---------------------------------------------------------------------------------
def test_chat_bound_to_the_run_cites_its_measured_value_and_shows_the_frame(screened, paths, db):
    out, _ = screened
    v = out.verdict
    reply = ask_about("why this score?", paths, run_name=out.run_name, db=db)
    assert reply.status == "answered"
    decider = next(c for c in v["criteria"] if c["id"] == v["deciding_criterion"])
    assert decider["id"] in reply.text and decider["unit"] in reply.text
    assert reply.frame_png == v["artifacts"]["deciding_frame_png"]
    by_athlete = ask_about("why a 2 on the deep squat?", paths, athlete_id="ATH-APP-1", db=db)
    assert by_athlete.status == "answered" and "not a 2" in by_athlete.text


def test_chat_says_plainly_when_it_has_nothing_to_answer_from(screened, paths, db):
    unknown = ask_about("why a 2 on the left hurdle step?", paths, athlete_id="NOBODY-9", db=db)
    assert unknown.status == "clarify" and "no screening runs for athlete NOBODY-9" in unknown.text
    with pytest.raises(InputError, match="Screen a clip first"):
        ask_about("why this score?", paths, db=db)
    with pytest.raises(InputError, match="Type a question"):
        ask_about("  ", paths, run_name=screened[0].run_name, db=db)
    with pytest.raises(InputError):
        ask_about("why?", paths, run_name="../../etc", db=db)


def test_publish_writes_a_self_contained_page_in_the_run_folder(screened, paths):
    out, _ = screened
    page = publish_run(paths, out.run_name)
    assert page == out.run_dir / "trace.html" and paths.contains(page)
    text = page.read_text()
    assert "not a diagnosis" in text and "src=\"http" not in text


def test_history_lists_the_athletes_runs_by_date(screened, db):
    headers, rows = athlete_history("ATH-APP-1", db)
    assert headers[:2] == ["Test", "Side"] and len(headers) == 3
    assert rows == [["Deep squat", "", "3"]]
    assert athlete_history("", db) == ([], [])


def test_scorecard_rows_and_text_from_a_scorecard():
    sc = {"athlete_id": "ATH-1", "composite": {"label": "incomplete: 5 from 2 of 7 tests"},
          "tests": {"deep_squat": {"bilateral": False, "score": {"score": 3, "review": False}, "counted": 3},
                    "hurdle_step": {"bilateral": True, "L": {"score": 1, "review": False},
                                    "R": {"score": 2, "review": True}, "counted": 1, "asymmetry": True,
                                    "review": True},
                    "inline_lunge": {"bilateral": True, "L": None, "R": None, "counted": None,
                                     "missing_sides": ["L", "R"],
                                     "errors": [{"line": 4, "error": "/secret/path/clip.mp4 is not a readable video"}]}},
          "asymmetries": [{"test": "hurdle_step", "L": 1, "R": 2}], "missing_tests": ["inline_lunge"],
          "clearing_tests": [{"test": "shoulder_mobility", "clearing_test": "shoulder clearing", "pain": None,
                              "recorded": False}], "review_tests": ["hurdle_step"], "notes": []}
    rows = scorecard_rows(sc)
    assert rows[0] == ["Deep squat", "", "", "3", "3", ""]
    assert rows[1] == ["Hurdle step", "1", "provisional 2", "", "1", "asymmetry; review"]
    assert rows[2][4] == "-" and "missing L/R" in rows[2][5] and "/secret" not in rows[2][5]
    text = scorecard_markdown(sc)
    assert "incomplete: 5 from 2 of 7 tests" in text and "Hurdle step L 1 / R 2" in text
    assert "shoulder clearing" in text and "not a diagnosis" in text


def test_session_manifest_may_only_name_uploaded_files(paths, squat_npz, tmp_path):
    clip = tmp_path / "squat.npz"
    manifest = tmp_path / "manifest.csv"
    for bad in ("/etc/passwd", "../squat.npz", "other.npz"):
        manifest.write_text(f"clip,test,side\n{bad},deep_squat,\n")
        with pytest.raises(InputError, match="not one of the uploaded files"):
            stage_session_upload(manifest, [clip], paths, AppLimits())
    manifest.write_text("clip,test,side\nsquat.npz,deep_squat,\n")
    folder = stage_session_upload(manifest, [clip], paths, AppLimits())
    assert (folder / "input" / "squat.npz").is_file() and paths.contains(folder)
    with pytest.raises(InputError, match="No manifest"):
        stage_session_upload(None, [clip], paths, AppLimits())


def test_session_through_the_app_scores_files_and_forgets_the_clips(paths, squat_npz, tmp_path, db):
    clip = tmp_path / "squat.npz"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("clip,test,side\nsquat.npz,deep_squat,\n")
    folder = stage_session_upload(manifest, [clip], paths, AppLimits())
    seen = []
    out = run_session(folder, athlete_id="ATH-SES-1", pdf=False, db=db, progress=lambda f, d: seen.append(d))
    sc = out.scorecard
    assert sc["tests"]["deep_squat"]["counted"] == 3 and "incomplete" in sc["composite"]["label"]
    assert Path(sc["report"]["html"]).is_file() and paths.contains(sc["report"]["html"])
    assert not (folder / "input" / "squat.npz").exists() and (folder / "input" / "manifest.csv").is_file()
    assert athlete_history("ATH-SES-1", db)[1] == [["Deep squat", "", "3"]]
    assert any(d.startswith("Clip 1 of 1") for d in seen) and "Building the scorecard and the report" in seen


@pytest.mark.slow
def test_demo_session_scores_every_test(paths, db):
    out = run_session(stage_demo_session(paths), athlete_id="SYN-APP-1", sex="M", pdf=True, db=db)
    assert len(scorecard_rows(out.scorecard)) == 7
    assert Path(out.scorecard["report"]["pdf"]).is_file()


def test_library_search_never_reads_a_path_typed_in_the_page(paths, squat_npz, tmp_path, db):
    from index.library.api import Library
    clip = tmp_path / "C1.npz"
    clip.write_bytes(squat_npz.read_bytes())
    folder = stage_library_upload(_labels(tmp_path / "labels.csv", [_row("C1")]), [clip], paths, AppLimits())
    with Library(db) as lib:
        assert len(lib.add_labels(folder / "labels.csv", folder / "clips").added) == 1
    hits, note = search_library(None, str(squat_npz), AppLimits(), test="deep_squat", db=db)
    assert [h["clip_id"] for h in hits] == ["C1"] and "1 clips" in note
    assert search_library("C1", None, AppLimits(), db=db)[0] == []          # the clip itself is left out
    outside = tmp_path / "secret.npz"
    outside.write_bytes(squat_npz.read_bytes())
    for typed in (str(outside), "secret.npz", "../secret.npz"):
        with pytest.raises(InputError):
            search_library(typed, None, AppLimits(), db=db)


# ----- picking the athlete with a click ------------------------------------------------------------------------
def test_first_frame_for_the_pick_and_the_click_is_drawn_on_a_copy(paths):
    import cv2

    from agent.app.screening import (
        PICK_MARK_RGB,
        athlete_pick_frame,
        mark_athlete_point,
    )
    png = athlete_pick_frame(None, True, AppLimits(), paths.staging)
    clean = cv2.imread(str(png))
    assert clean is not None and clean.ndim == 3
    x, y = clean.shape[1] // 2, clean.shape[0] // 2
    marked = mark_athlete_point(png, (x + 0.4, y))
    out = cv2.cvtColor(cv2.imread(str(marked)), cv2.COLOR_BGR2RGB)
    assert tuple(int(v) for v in out[y, x]) == PICK_MARK_RGB       # the cross goes through the clicked pixel
    assert (cv2.imread(str(png)) == clean).all()                    # the clean frame stays clean for a re-click


def test_a_skeleton_upload_has_no_frame_to_click(paths, squat_npz):
    from agent.app.screening import athlete_pick_frame
    assert athlete_pick_frame(str(squat_npz), False, AppLimits(), paths.staging) is None


def test_a_click_outside_the_frame_is_refused_with_what_to_do():
    from agent.app.paths import DEMO_CLIP
    from agent.app.screening import _pick_point
    from tools.video.clip import probe_video
    info = probe_video(DEMO_CLIP)
    assert _pick_point((10, 20), DEMO_CLIP) == (10.0, 20.0)
    assert _pick_point(None, DEMO_CLIP) is None
    with pytest.raises(InputError, match="click on the athlete again"):
        _pick_point((info.width + 5, 10), DEMO_CLIP)
