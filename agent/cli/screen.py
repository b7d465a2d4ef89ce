"""`formscout screen CLIP_OR_NPZ --test TEST [--side L|R] [--pain] [--athlete-box x,y,w,h]
[--athlete-selector track|sam3|off --sam3-checkpoint PATH] [--side-clip CLIP2] [--json] [--out DIR]`."""
from __future__ import annotations

import json

from agent.screening.protocol import ScreenRequest
from tools.core.errors import InputError


def add_parser(sub) -> None:
    p = sub.add_parser("screen", help="score one clip (video or skeleton .npz) of one FMS test",
                       description="Measure one FMS clip and score it 0-3, or flag it for physio review. "
                                   "Writes verdict.json, trace.json, skeleton.npz, angles.csv and the overlay.")
    p.add_argument("clip", help="video file (mp4, mov, ...) or canonical skeleton .npz")
    p.add_argument("--test", required=True, help="deep_squat, hurdle_step, inline_lunge, shoulder_mobility, "
                                                 "active_straight_leg_raise, trunk_stability_pushup, rotary_stability")
    p.add_argument("--side", choices=["L", "R", "l", "r"], help="side for bilateral tests (default: detect)")
    p.add_argument("--pain", action="store_true", help="the athlete reported pain: the score is 0")
    p.add_argument("--heels-raised", choices=["yes", "no", "auto"], default="auto",
                   help="deep squat: heels on a board (default: detect from the skeleton)")
    p.add_argument("--sex", choices=["M", "F", "m", "f"], help="push-up: sets the thumb level for each score")
    p.add_argument("--hand-length-m", type=float, help="shoulder mobility: measured hand length in metres")
    p.add_argument("--clearing-pain", action="store_true",
                   help="pain in this test's clearing test (shoulder / spinal extension / spinal flexion): 0")
    p.add_argument("--pose", default="mediapipe", choices=["mediapipe", "yolo"], help="pose backend")
    p.add_argument("--pose-weights", default="", help="weights file for --pose yolo")
    p.add_argument("--athlete-box", default="", metavar="X,Y,W,H",
                   help="several people in frame: the athlete's box on the first frame, in pixels "
                        "(left, top, width, height); default: the person doing the test")
    p.add_argument("--athlete-point", default="", metavar="X,Y",
                   help="several people in frame: a point on the athlete's body on the first frame, in pixels")
    p.add_argument("--athlete-frame", type=int, default=0, metavar="N",
                   help="video frame the athlete box / point was drawn on (default 0, the first frame)")
    p.add_argument("--athlete-selector", default="track", choices=["track", "sam3", "off"],
                   help="how the athlete is found: track (default; every person is detected and tracked), "
                        "sam3 (a SAM 3 mask on the keyframe from a local checkpoint, ~1 min per clip on CPU) or "
                        "off (nobody else in frame: follow one person, about 1.5x faster; identity jumps are "
                        "still counted by the quality check)")
    p.add_argument("--sam3-checkpoint", default="", metavar="PATH",
                   help="--athlete-selector sam3: local sam3.pt (never downloaded)")
    p.add_argument("--side-clip", default="", metavar="CLIP2",
                   help="a second clip of the same repetition from another view (e.g. the side when CLIP is the "
                        "front): each criterion is judged from the view that measures it, and the verdict says "
                        "which clip decided which")
    p.add_argument("--criteria", default="", help="team thresholds YAML merged over knowledge/criteria.yaml")
    p.add_argument("--athlete", default="", help="athlete id to file the run under")
    p.add_argument("--brain", default="protocol",
                   help="who decides the tool calls: protocol (default), qwen3-vl or remote")
    p.add_argument("--brain-model-path", default="", help="qwen3-vl: local folder of the Qwen3-VL checkpoint")
    p.add_argument("--brain-url", default="", help="remote: OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--brain-model", default="", help="remote: model name to ask the server for")
    p.add_argument("--max-duration-s", type=float, default=120.0, help="longest clip accepted (s)")
    p.add_argument("--max-size-mb", type=float, default=500.0, help="largest file accepted (MB)")
    p.add_argument("--out", default="", help="run folder: new, or an empty folder (default: a new "
                                             "formscout_runs/<time>_<test>_<run id>, unique per run)")
    p.add_argument("--json", action="store_true", help="print the verdict as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from agent.screening.run import screen
    if args.athlete:
        _check_athlete_id(args.athlete)
    box = parse_numbers(args.athlete_box, 4, "--athlete-box", "x,y,w,h")
    point = parse_numbers(args.athlete_point, 2, "--athlete-point", "x,y")
    if box is not None or point is not None:
        check_athlete_hint(args.clip, box, point, args.athlete_frame)
    selector = "" if args.athlete_selector == "track" else args.athlete_selector
    check_selector(args.clip, selector, args.sam3_checkpoint)
    if selector == "off" and (box is not None or point is not None):
        raise InputError("--athlete-box / --athlete-point choose among several people, which "
                         "--athlete-selector off does not look for: drop one of them")
    request = ScreenRequest(source=args.clip, test=args.test, run_dir=args.out,   # "" = a new unique folder
                            side=args.side.upper() if args.side else None, pain=args.pain,
                            heels_raised=args.heels_raised, pose_backend=args.pose,
                            pose_weights=args.pose_weights, criteria_file=args.criteria,
                            max_duration_s=args.max_duration_s, max_size_mb=args.max_size_mb,
                            athlete_id=args.athlete, sex=(args.sex or "").upper(),
                            hand_length_m=args.hand_length_m, clearing_pain=args.clearing_pain,
                            athlete_box=box, athlete_point=point, athlete_keyframe=args.athlete_frame,
                            athlete_selector=selector, sam3_checkpoint=args.sam3_checkpoint,
                            side_clip=args.side_clip)
    # The verdict is printed first and the overlay drawn after it (off the critical path), except when the
    # JSON must carry the catalog filing, which lists the overlay's files.
    request.overlay = "now" if (args.json and args.athlete) else "after"
    from agent.screening.run import run_folder_filer
    verdict = screen(request, brain=args.brain, brain_options=brain_options(args),
                     on_run_folder=run_folder_filer(args.athlete))     # filed before it runs: erasable if killed
    if args.json and not args.athlete:
        print(json.dumps(verdict, default=str), flush=True)
    elif not args.json:
        print(format_verdict(verdict), flush=True)
    from agent.screening.steps import render_pending_overlay
    render_pending_overlay(verdict["artifacts"]["run_dir"])
    if args.athlete:
        from agent.screening.run import file_run
        verdict["catalog"] = file_run(verdict, args.athlete)
        if args.json:
            print(json.dumps(verdict, default=str))
        else:
            filed = verdict["catalog"]
            print(f"  filed under athlete {args.athlete} in {filed['db']}" if filed["filed"]
                  else f"  not filed under athlete {args.athlete}: {filed['reason']}")
    return 0


def parse_numbers(text: str, n: int, flag: str, form: str) -> list[float] | None:
    """'x,y,w,h' -> [x, y, w, h] floats ('' -> None); anything else is an InputError that shows the form."""
    if not text:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != n or not all(v == v and abs(v) != float("inf") for v in values):
        raise InputError(f"{flag} {text!r}: give {n} numbers in pixels as {form} (e.g. "
                         f"{'100,50,300,600' if n == 4 else '250,400'}), no spaces")
    return values


def check_selector(clip: str, selector: str, checkpoint: str) -> None:
    """SAM 3 needs a video, a local checkpoint and the sam3 package; say what to do before any work starts."""
    if selector in ("", "off"):
        if checkpoint:
            raise InputError("--sam3-checkpoint is only used with --athlete-selector sam3: add it, or drop the "
                             "checkpoint")
        return
    if clip.lower().endswith(".npz"):
        raise InputError("--athlete-selector sam3 finds the athlete in a video; a skeleton .npz already holds "
                         "one person: drop it")
    if not checkpoint:
        raise InputError("--athlete-selector sam3 needs --sam3-checkpoint PATH: a local sam3.pt file "
                         "(FormScout never downloads weights; see docs/BACKENDS.md)")
    from tools.people.sam3_mask import check_local_checkpoint, require_sam3
    check_local_checkpoint(checkpoint)
    require_sam3()


def check_athlete_hint(clip: str, box: list[float] | None, point: list[float] | None, frame: int) -> None:
    """The athlete box / point must fit the clip's frame: positive size, inside the picture."""
    if clip.lower().endswith(".npz"):
        raise InputError("--athlete-box / --athlete-point choose a person in a video; a skeleton .npz "
                         "already holds one person: drop them")
    if box is not None and (box[2] <= 0 or box[3] <= 0):
        raise InputError(f"--athlete-box {','.join(f'{v:g}' for v in box)}: width and height must be positive "
                         "(x,y is the top-left corner, w,h the size in pixels)")
    if frame < 0:
        raise InputError(f"--athlete-frame must be 0 or more, got {frame}")
    from tools.video.clip import probe_video
    info = probe_video(clip, min_duration_s=0.0, max_duration_s=float("inf"), max_size_mb=float("inf"))
    w, h = info.width, info.height
    if frame >= info.n_frames > 0:
        raise InputError(f"--athlete-frame {frame}: the clip has {info.n_frames} frames (0-{info.n_frames - 1})")
    if box is not None:
        x, y, bw, bh = box
        if x < 0 or y < 0 or x + bw > w or y + bh > h:
            raise InputError(f"--athlete-box {','.join(f'{v:g}' for v in box)} does not fit inside the {w}x{h} px "
                             "frame: give x,y,w,h in pixels of the upright first frame")
    if point is not None and not (0 <= point[0] < w and 0 <= point[1] < h):
        raise InputError(f"--athlete-point {point[0]:g},{point[1]:g} lies outside the {w}x{h} px frame: "
                         "give x,y in pixels of the upright first frame")


def _check_athlete_id(athlete_id: str) -> None:
    try:
        from index.library.labels import check_id
    except ModuleNotFoundError:
        return
    try:
        check_id(athlete_id, "athlete id")
    except ValueError as exc:
        raise InputError(f"--athlete: {exc}") from None


def brain_options(args) -> dict:
    """The --brain-* options that apply to the chosen brain (one given for another brain is an error)."""
    given = {"model_path": args.brain_model_path, "url": args.brain_url, "model": args.brain_model}
    applies = {"qwen3-vl": ("model_path",), "remote": ("url", "model")}.get(args.brain, ())
    flag = {"model_path": "--brain-model-path", "url": "--brain-url", "model": "--brain-model"}
    wrong = [flag[k] for k, v in given.items() if v and k not in applies]
    if wrong:
        raise InputError(f"{', '.join(wrong)} does not apply to --brain {args.brain}; "
                         "--brain-model-path is for qwen3-vl, --brain-url and --brain-model for remote")
    return {k: given[k] for k in applies if given[k]}


def format_verdict(v: dict) -> str:
    """The verdict as plain text: the headline first (tools.report.headline), then why, in a physio's words."""
    from tools.report.headline import decider_label, headline
    from tools.report.vocabulary import criterion_name, threshold_text, value_text
    h = headline(v)
    lines = [h.title] + [f"  {line}" for line in h.lines]
    for why in v["reasons"]:
        lines.append(f"  review: {why}")
    label = decider_label(v)
    if h.kind in ("not_the_test", "not_intact") and v["criteria"]:
        lines.append("  measured as if it were this test (not a result):")
    for c in v["criteria"]:
        mark = {True: "pass", False: "FAIL", None: "n/a "}[c["passed"]]
        name = criterion_name(v["test"], c["id"]).name
        tag = f"  <- {label.lower()}" if c["id"] == v.get("deciding_criterion") else ""
        lines.append(f"  [{mark}] {name}: {value_text(c['value'], c['unit'])} (pass: "
                     f"{threshold_text(c)}; frame {c['deciding_frame']}){tag}"
                     + (f"  [{c['view_source']}]" if c.get("view_source") else "")
                     + (f"  {c['reason']}" if c.get("reason") else ""))
    from agent.screening.repetitions import repetition_lines
    lines += [f"  {line}" for line in repetition_lines(v)]    # several repetitions: which one counted
    q = v.get("quality") or {}
    if q:
        lines.append(f"  pose quality: athlete in {100 * q.get('athlete_share', 0):.0f}% of frames, "
                     f"jitter {_num(q.get('jitter_mm'))} mm, identity jumps {q.get('identity_jumps')}")
        sel = q.get("selection") or {}
        if sel.get("method") not in (None, "off") and (sel.get("people_found") or 0) > 1:
            lines.append(f"  athlete: chosen by {sel['method']} among {sel['people_found']} people; "
                         f"identity switches caught {sel.get('identity_switches_detected', 0)}, "
                         f"repaired {sel.get('identity_switches_repaired', 0)}, "
                         f"frames left out {sel.get('frames_blanked', 0)}")
    neighbours = (v.get("evidence") or {}).get("neighbours") or []
    if neighbours:
        lines.append("  most similar physio-scored clips:")
        for n in neighbours[:3]:
            lines.append(f"    {n['clip_id']} ({n['athlete_id']}): score {n['score']}, similarity "
                         f"{n['similarity']:.2f}; notes: {n.get('compensation_notes') or '-'}")
    if v.get("passages"):
        lines.append("  rubric passages: " + ", ".join(v["passages"]))
    a = v["artifacts"]
    lines.append(f"  trace:   {a['trace_json']}")
    lines.append(f"  overlay: {a['overlay_mp4']}  (deciding frame: {a['deciding_frame_png']})")
    lines.append("  Screening aid, not a diagnosis.")
    return "\n".join(lines)


def _num(x, digits: int = 1) -> str:
    return "-" if x is None else f"{x:.{digits}f}"
