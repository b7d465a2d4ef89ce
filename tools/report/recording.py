"""The session report's recording section: a whole screen filmed in one take, and where it was split.

`recording_section(recording)` renders the scorecard's `recording` entry
(agent/screening/recording.py: source, segments, split points with their
thumbnails) as HTML parts: a timeline of the recording (one coloured band per
test, the split points as lines, each test's clip as the darker part of its
band), a table of the split points (time, frame, the tests either side, how it
was placed, the thumbnail) and one of the segments (test, stretch, clip,
repetitions found, recogniser score, who set it: recognised / physio).
`repetitions_table(clip)` is the per-clip list of repetitions (status, score,
frames) for the per-test part of the report.
"""
from __future__ import annotations

import html

from tools.report.images import data_uri_png, file_uri, new_figure

TEST_COLOURS = {"deep_squat": "#1565c0", "hurdle_step": "#6a1b9a", "inline_lunge": "#00838f",
                "shoulder_mobility": "#ef6c00", "active_straight_leg_raise": "#2e7d32",
                "trunk_stability_pushup": "#ad1457", "rotary_stability": "#5d4037"}
PLACED = {True: "between the two tests' repetitions", False: "at the recogniser's boundary"}


def _esc(x) -> str:
    return html.escape("" if x is None else str(x))


def _name(test: str) -> str:
    return test.replace("_", " ")


def timeline_png(rec: dict) -> str:
    """PNG data URI: the recording's timeline (bands per test, clips darker, split points as lines)."""

    fps = float(rec["fps"])
    total = rec["n_frames"] / fps
    fig, ax = new_figure((8.0, 1.5))
    for s in rec["segments"]:
        colour = TEST_COLOURS.get(s["test"], "#757575")
        ax.axvspan(s["start_frame"] / fps, s["end_frame"] / fps, ymin=0.15, ymax=0.85, color=colour, alpha=0.25)
        ax.axvspan(s["clip_start"] / fps, s["clip_end"] / fps, ymin=0.3, ymax=0.7, color=colour, alpha=0.8)
        mid = 0.5 * (s["start_frame"] + s["end_frame"]) / fps
        ax.text(mid, 0.92, _name(s["test"]).replace(" ", "\n", 1), ha="center", va="bottom", fontsize=6.5)
    for k, p in enumerate(rec["split_points"], start=1):
        ax.axvline(p["frame"] / fps, color="#212121", lw=1.2)
        ax.text(p["frame"] / fps, 0.05, str(k), ha="center", va="bottom", fontsize=7,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "#212121", "lw": 0.6})
    ax.set_xlim(0, total)
    ax.set_ylim(0, 1.35)
    ax.set_yticks([])
    ax.set_xlabel("time in the recording (s)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right", "left"]].set_visible(False)
    return data_uri_png(fig)


def recording_section(rec: dict) -> list[str]:
    """HTML parts of the recording section (module docstring)."""
    fps = float(rec["fps"])
    head = (f"<p>One recording of the whole screen: <b>{_esc(rec['source'])}</b> ({_esc(rec['kind'])}, "
            f"{float(rec['duration_s']):.0f} s, {rec['n_frames']} frames), split into {len(rec['segments'])} tests "
            + ("along the physio's order" if rec.get("mode") == "order" else "by the test recogniser (no order given)")
            + (", <b>corrected by the physio</b>" if rec.get("corrected") else "") + ".")
    if rec.get("missing"):
        head += " Not found in the recording: " + ", ".join(_esc(_name(t)) for t in rec["missing"]) + "."
    head += (" Each test's clip (the darker part of its band) runs from just before its first repetition to just "
             "after its last; check every split point below and correct it in the app before trusting the "
             "scores.</p>")
    rows = ["<tr><th>#</th><th>Time</th><th>Between</th><th>Placed</th><th>Thumbnail</th></tr>"]
    for k, p in enumerate(rec["split_points"], start=1):
        uri = file_uri(p.get("thumbnail_png"))
        img = f"<img src='{uri}' style='max-width:62mm'/>" if uri else "-"
        placed = "set by the physio" if p.get("source") == "physio" else PLACED.get(bool(p.get("refined")), "")
        gap = f" (gap {p['gap_s']:.1f} s)" if p.get("gap_s") is not None else ""
        rows.append(f"<tr><td>{k}</td><td>{p['time_s']:.1f} s<br/><span class='muted'>frame {p['frame']}</span></td>"
                    f"<td>{_esc(_name(p['before']))} | {_esc(_name(p['after']))}</td>"
                    f"<td>{_esc(placed)}{_esc(gap)}</td><td>{img}</td></tr>")
    segs = ["<tr><th>#</th><th>Test</th><th>Stretch</th><th>Clip scored</th><th>Repetitions</th>"
            "<th>Recogniser</th><th>Set by</th></tr>"]
    for s in rec["segments"]:
        score = "-" if s.get("score") is None else f"{float(s['score']):.2f}"
        flag = " <span class='flag'>uncertain</span>" if s.get("uncertain") else ""
        segs.append(f"<tr><td>{s['index']}</td><td>{_esc(_name(s['test']))}</td>"
                    f"<td>{s['start_frame'] / fps:.1f}-{s['end_frame'] / fps:.1f} s</td>"
                    f"<td>{s['clip_start'] / fps:.1f}-{s['clip_end'] / fps:.1f} s</td><td>{s.get('n_repetitions', '-')}</td>"
                    f"<td>{score}{flag}</td><td>{_esc(s.get('source', 'recognised'))}</td></tr>")
    return ["<h2>Recording: split into tests</h2>", head,
            f"<div class='strip'><img src='{timeline_png(rec)}'/></div>",
            "<h3>Split points</h3>", "<table>" + "".join(rows) + "</table>",
            "<h3>Tests found</h3>", "<table>" + "".join(segs) + "</table>"]


def repetitions_table(clip: dict) -> str:
    """The repetitions of one screened clip (status, side, score, frames, why ignored); '' for one repetition."""
    reps = clip.get("repetitions") or []
    if len(reps) < 2:
        return ""
    rows = ["<tr><th>Repetition</th><th>Side</th><th>Status</th><th>Score</th><th>Frames</th><th>Note</th></tr>"]
    for r in reps:
        status = {"counted": "<b>counted</b>", "scored": "scored", "ignored": "ignored"}.get(r.get("status"), "")
        note = r.get("ignored_reason") or ", ".join(f"{k} {v}" for k, v in (r.get("variant") or {}).items()
                                                     if v not in (None, "") and k != "heels_raised_source")
        rows.append(f"<tr><td>#{r['index']}</td><td>{_esc(r.get('side') or '')}</td><td>{status}</td>"
                    f"<td>{'-' if r.get('score') is None else r['score']}</td>"
                    f"<td>{r.get('start_frame')}-{r.get('end_frame')}</td><td>{_esc(note)}</td></tr>")
    return "<div><b>Repetitions (the best counts):</b><table>" + "".join(rows) + "</table></div>"
