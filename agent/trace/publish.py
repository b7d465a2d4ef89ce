"""One self-contained HTML page per run trace, for judges and physios (`formscout trace publish`).

Everything is inlined (CSS, and images as base64), so the page can be mailed or
archived on its own: the verdict with its reasons and the disclaimer, whether
the hash chain and the schema check out, keyframes of the skeleton overlay,
the deciding frame with the deciding angle drawn, plots of the measured series
of every criterion against its threshold (from the run's angles.csv), the
most similar physio-scored clips, the rubric passages cited, the criteria
table, and every step with its arguments and result (collapsible).

Files are found beside the trace (paths in a trace are relative to its run
folder). What is missing is said on the page, never invented. Frames of a real
athlete are personal data: `frames=False` leaves every video frame out.
"""
from __future__ import annotations

import base64
import html
import io
import json
import logging
from pathlib import Path

import numpy as np

from agent.trace.check import check_trace
from agent.trace.record import load_trace
from tools.report.headline import decider_label, headline, not_the_test
from tools.report.similar import similar_summary
from tools.report.vocabulary import criterion_name, plain_inputs, threshold_text, value_text
from tools.video.sampling import spread_frame_indices

log = logging.getLogger(__name__)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d232b}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px} h2{font-size:19px;margin:28px 0 10px;border-bottom:2px solid #dde1e6;padding-bottom:4px}
.card{background:#fff;border-radius:10px;padding:16px 20px;box-shadow:0 1px 3px #0002;margin-bottom:14px}
.verdict{display:flex;gap:24px;align-items:center}
.score{font-size:64px;font-weight:700;min-width:110px;text-align:center;border-radius:12px;padding:6px 14px;color:#fff}
.s3{background:#2e7d32}.s2{background:#f9a825}.s1{background:#ef6c00}.s0{background:#c62828}.sr{background:#5c6bc0;font-size:30px}
.provisional{background:#fff;color:#5c6bc0;border:3px dashed #5c6bc0;font-size:26px;line-height:1.15}
.noscore{background:#eceff1;color:#455a64;font-size:22px;border:2px solid #90a4ae}
.broken{background:#b71c1c;color:#fff;padding:14px 18px;border-radius:10px;font-size:20px;font-weight:700;margin-bottom:14px}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}.muted{color:#66707a;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{border-bottom:1px solid #e4e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5} .pass{color:#2e7d32}.fail{color:#c62828}.na{color:#8a939c}
.frames{display:flex;flex-wrap:wrap;gap:10px} .frames figure{margin:0} .frames img{height:200px;border-radius:6px}
figcaption{font-size:12px;color:#56606a;text-align:center}
img.wide{max-width:100%;border-radius:6px}
details{border:1px solid #e0e3e7;border-radius:8px;margin:6px 0;background:#fff}
summary{cursor:pointer;padding:7px 10px;font-weight:600} summary .muted{font-weight:400}
pre{background:#f7f8fa;margin:0;padding:10px;overflow:auto;font-size:12px;max-height:420px;white-space:pre-wrap;word-break:break-all}
.err{background:#fdecea}
.disclaimer{background:#fff8e1;border-left:4px solid #f9a825;padding:10px 14px;border-radius:6px}
code{font-size:12px;word-break:break-all}
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _b64(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _jpeg(rgb: np.ndarray, max_height_px: int = 360, quality: int = 80) -> bytes:
    import cv2
    h, w = rgb.shape[:2]
    if h > max_height_px:
        rgb = cv2.resize(rgb, (int(round(w * max_height_px / h)), max_height_px), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise OSError("JPEG encoding failed")
    return buf.tobytes()


def _step_result(doc: dict, tool: str) -> dict:
    for step in reversed(doc.get("steps", [])):
        if step.get("tool") == tool and step.get("error") is None and isinstance(step.get("result"), dict):
            return step["result"]
    return {}


def _file(base: Path, rel) -> Path | None:
    if not rel:
        return None
    p = Path(rel)
    p = p if p.is_absolute() else base / p
    return p if p.is_file() else None


# ----- images ---------------------------------------------------------------------------------------

def keyframe_images(overlay_mp4: Path, n: int = 4) -> list[tuple[int, float, str]]:
    """(frame, time s, JPEG data URL) of `n` frames spread over the overlay video."""
    from tools.video.clip import probe_video, read_frame
    info = probe_video(overlay_mp4, min_duration_s=0.0, max_duration_s=float("inf"), max_size_mb=float("inf"))
    out = []
    for i in spread_frame_indices(info.n_frames, n):
        out.append((i, i / info.fps if info.fps else 0.0, _b64(_jpeg(read_frame(overlay_mp4, i)), "image/jpeg")))
    return out


def _series_columns(header: list[str], measure: str) -> list[str]:
    return [c for c in header if c == measure or c in (f"left_{measure}", f"right_{measure}")]


def angle_plots(angles_csv: Path, criteria: list[dict]) -> list[tuple[str, str]]:
    """(criterion id, PNG data URL): each criterion's measured series over time, its threshold and deciding frame."""
    import csv

    from tools.report.images import new_figure

    with open(angles_csv, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    if not body:
        return []
    cols = {name: np.array([float(r[i]) if r[i] != "" else np.nan for r in body]) for i, name in enumerate(header)}
    t = cols.get("time_s", np.arange(len(body), dtype=float))
    plots = []
    for c in criteria:
        names = _series_columns(header, c.get("measure", ""))
        if not names:
            continue
        fig, ax = new_figure((5.6, 2.6), dpi=90)
        for name in names:
            ax.plot(t, cols[name], lw=1.6, label=name)
        if c.get("threshold") is not None:
            ax.axhline(float(c["threshold"]), color="#c62828", ls="--", lw=1.2,
                       label=f"threshold ({c.get('pass_if', '')} {c['threshold']:g} {c.get('unit', '')})")
        frame = c.get("deciding_frame")
        if frame is not None and 0 <= int(frame) < len(t):
            ax.axvline(float(t[int(frame)]), color="#455a64", ls=":", lw=1.2, label=f"deciding frame {frame}")
            if c.get("value") is not None:
                ax.plot([float(t[int(frame)])], [float(c["value"])], "o", color="#212121", ms=5)
        ax.set_title(f"{c['id']}  ({'pass' if c.get('passed') else 'fail' if c.get('passed') is False else 'not judged'})",
                     fontsize=10)
        ax.set_xlabel("time (s)", fontsize=8)
        ax.set_ylabel(c.get("unit", ""), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, loc="best")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plots.append((c["id"], _b64(buf.getvalue(), "image/png")))
    return plots


# ----- page sections --------------------------------------------------------------------------------

def _verdict_section(doc: dict, check) -> str:
    """The headline (tools.report.headline): an edited trace shows no score at all, a review a provisional one."""
    v = doc.get("verdict", {})
    h = headline(v, intact=check.intact)
    chain = (f'<span class="ok">intact</span>: {check.n_steps} steps hash-chained, schema valid, seal matches'
             if check.intact else '<span class="bad">NOT intact</span><ul>'
             + "".join(f"<li>{_e(p)}</li>" for p in check.problems) + "</ul>")
    if h.kind == "not_intact":
        return (f"<div class='broken' id='integrity'>{_e(h.title)}</div><div class='card'>"
                + "".join(f"<p>{_e(line)}</p>" for line in h.lines)
                + f"<p>Trace: {chain}</p></div><div class='disclaimer'>"
                  f"{_e(v.get('disclaimer') or 'Screening aid, not a diagnosis.')}</div>")
    if h.kind == "provisional":
        badge = f'<div class="score provisional">provisional<br>{_e(h.provisional)}</div>'
    elif h.badge is None:
        badge = '<div class="score noscore">no score</div>'
    elif h.kind == "no_score":
        badge = '<div class="score sr">REVIEW</div>'
    else:
        badge = f'<div class="score s{h.score}">{_e(h.badge)}</div>'
    review = ('<p class="bad">Physio review</p><ul>' + "".join(f"<li>{_e(plain_inputs(r))}</li>"
                                                                for r in v.get("reasons", []))
              + "</ul>") if v.get("review") else '<p class="ok">No review flag</p>'
    notes = "".join(f"<li>{_e(plain_inputs(n))}</li>" for n in v.get("notes") or [])
    review += f"<p class='muted'>Notes:</p><ul class='muted'>{notes}</ul>" if notes else ""
    dec = ""
    crit = next((c for c in v.get("criteria", []) if c.get("id") == v.get("deciding_criterion")), None)
    if crit and h.kind not in ("not_the_test",):
        t = v.get("deciding_time_s")
        name = criterion_name(v.get("test"), crit["id"]).name
        dec = (f"<p>{_e(decider_label(v))}: <b>{_e(name)}</b>, measured {_e(value_text(crit.get('value'), crit.get('unit')))} "
               f"(pass: {_e(threshold_text(crit))}) at frame {_e(v.get('deciding_frame'))}"
               + (f" ({t:.2f} s)" if isinstance(t, (int, float)) else "") + "</p>")
    lines = "".join(f"<p>{_e(line)}</p>" for line in h.lines)
    return f"""<div class="card verdict">{badge}<div>
<h1 id="headline">{_e(h.title)}</h1>
{lines}{dec}{review}<p>Trace: {chain}</p></div></div>
<div class="disclaimer">{_e(v.get('disclaimer') or 'Screening aid, not a diagnosis.')}</div>"""


def _run_facts(doc: dict) -> str:
    inp = doc.get("input", {})
    rows = [("run id", doc.get("run_id")), ("started / finished", f"{doc.get('started_at')} / {doc.get('finished_at')}"),
            ("athlete", doc.get("athlete_id") or "not given"), ("input", f"{inp.get('kind')} {inp.get('name')}"),
            ("input sha256", inp.get("sha256")), ("brain", f"{doc.get('brain')} ({doc.get('brain_model')})"),
            ("pain reported", doc.get("request", {}).get("pain")),
            ("software", ", ".join(f"{k} {v}" for k, v in doc.get("software", {}).items()))]
    for tool, why in (doc.get("optional_steps_skipped") or {}).items():
        rows.append((f"skipped {tool}", why))
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td><code>{_e(v)}</code></td></tr>" for k, v in rows) + "</table>"


def _criteria_table(criteria: list[dict], verdict: dict | None = None) -> str:
    """Each criterion by its physio name, with its plain explanation (sign and unit) and its id for citation."""
    if not criteria:
        return '<p class="muted">No criterion was judged in this run.</p>'
    verdict = verdict or {}
    test = verdict.get("test")
    label = decider_label(verdict)
    head = "<tr><th>criterion</th><th>measured</th><th>passes at</th><th>margin</th><th>result</th><th>frame</th></tr>"
    rows = []
    for c in criteria:
        mark = {True: ('pass', 'pass'), False: ('fail', 'FAIL'), None: ('na', 'not judged')}[c.get("passed")]
        margin = "-" if c.get("margin") is None else f"{c['margin']:+.3g}"
        names = criterion_name(test, c["id"])
        tag = f" <span class='muted'>({_e(label.lower())})</span>" if c["id"] == verdict.get("deciding_criterion") else ""
        rows.append(f"<tr><td><b>{_e(names.name)}</b>{tag}<br><span class='muted'>{_e(names.explanation or c.get('description'))}"
                    f" <code>{_e(c['id'])}</code></span>"
                    f"{'<br><span class=muted>' + _e(c['reason']) + '</span>' if c.get('reason') else ''}"
                    f"{'<br><span class=muted>decided by ' + _e(c['view_source']) + '</span>' if c.get('view_source') else ''}</td>"
                    f"<td>{_e(value_text(c.get('value'), c.get('unit')))}</td><td>{_e(threshold_text(c))}</td>"
                    f"<td>{_e(margin)}</td><td class='{mark[0]}'>{mark[1]}</td><td>{_e(c.get('deciding_frame'))}</td></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _neighbours(doc: dict) -> str:
    hits = _step_result(doc, "retrieve_similar_clips").get("neighbours")
    if hits is None:
        why = (doc.get("optional_steps_skipped") or {}).get("retrieve_similar_clips", "not run")
        return f'<p class="muted">No neighbour search in this run ({_e(why)}).</p>'
    if not hits:
        return '<p class="muted">The library held no clip of this test and side.</p>'
    rows = "".join(f"<tr><td>{_e(h.get('clip_id'))}</td><td>{_e(h.get('score'))}</td><td>{_e(h.get('side'))}</td>"
                   f"<td>{h.get('similarity', 0):.3f}</td><td>{_e(h.get('compensation_notes'))}</td>"
                   f"<td>{'synthetic' if h.get('synthetic') else ''}</td></tr>" for h in hits)
    return (f"<p>{_e(similar_summary(hits))}</p>"
            "<table><tr><th>clip</th><th>physio score</th><th>side</th><th>similarity</th><th>notes</th><th></th></tr>"
            f"{rows}</table>")


def _passages(doc: dict) -> str:
    found = _step_result(doc, "retrieve_passages").get("passages")
    note = ""
    if found is None:
        v = doc.get("verdict", {})
        ids = [v["deciding_criterion"]] if v.get("deciding_criterion") else []
        ids += [c["id"] for c in v.get("criteria", []) if c.get("passed") is False and c["id"] not in ids]
        try:
            from knowledge.passages import passages_for
        except ModuleNotFoundError:
            return '<p class="muted">No rubric passages in this run, and none in this install.</p>'
        test = doc.get("test", "")
        picked = ([p for p in passages_for(test, score=v["score"]) if p.criterion is None]
                  if v.get("score") is not None else [])
        for cid in ids:
            picked += passages_for(test, criterion=cid)
        found = [{"passage_id": p.id, "title": p.title, "text": p.text} for p in picked]
        note = ('<p class="muted">This run did not retrieve passages; these were looked up from the '
                'knowledge base when the page was made (not part of the sealed trace).</p>')
    if not found:
        return note + '<p class="muted">No passage applies.</p>'
    items = "".join(f"<li><b>{_e(p['title'])}</b> <code>[{_e(p['passage_id'])}]</code><br>{_e(p.get('text'))}</li>"
                    for p in found)
    return f"{note}<ul>{items}</ul>"


def _steps(doc: dict) -> str:
    out = []
    for s in doc.get("steps", []):
        err = s.get("error")
        status = '<span class="bad">error</span>' if err else '<span class="ok">ok</span>'
        body = (f"<p class='muted' style='padding:0 10px'>brain: {_e(s.get('brain_message')) or '-'}</p>"
                + (f"<pre class='err'>{_e(err)}</pre>" if err else "")
                + f"<pre>arguments = {_e(json.dumps(s.get('arguments'), indent=1))}</pre>"
                + f"<pre>result = {_e(json.dumps(s.get('result'), indent=1))}</pre>"
                + f"<p class='muted' style='padding:0 10px'>hash {_e(s.get('hash'))}<br>prev {_e(s.get('prev_hash'))}</p>")
        out.append(f"<details><summary>{s.get('index')}. {_e(s.get('tool'))} {status} "
                   f"<span class='muted'>{s.get('duration_ms', 0):.0f} ms</span></summary>{body}</details>")
    return "".join(out) or '<p class="muted">No steps.</p>'


def render_page(doc: dict, base_dir: Path, frames: bool = True, n_keyframes: int = 4) -> str:
    """The whole page as one HTML string."""
    check = check_trace(doc)
    overlay = _step_result(doc, "render_overlay")
    measures = _step_result(doc, "measure_angles")
    v = doc.get("verdict", {})
    parts = [_verdict_section(doc, check)]

    parts.append("<h2>Keyframes (skeleton overlay)</h2>")
    mp4 = _file(base_dir, overlay.get("overlay_mp4"))
    if not frames:
        parts.append('<p class="muted">Video frames left out of this page (--no-frames).</p>')
    elif mp4 is None:
        parts.append('<p class="muted">The overlay video is not beside this trace; no keyframes.</p>')
    else:
        figs = "".join(f"<figure><img src='{src}' alt='frame {i}'><figcaption>frame {i} · {ts:.2f} s</figcaption>"
                       "</figure>" for i, ts, src in keyframe_images(mp4, n_keyframes))
        parts.append(f"<div class='card frames'>{figs}</div>")

    parts.append("<h2>Deciding frame</h2>")
    png = _file(base_dir, overlay.get("deciding_frame_png"))
    crit = next((c for c in v.get("criteria", []) if c.get("id") == v.get("deciding_criterion")), None)
    caption = ""
    if crit:
            caption = (("Measured as if it were the asked-for test (not a result): " if not_the_test(v) else "")
                   + f"{decider_label(v)}: {criterion_name(v.get('test'), crit['id']).name}: measured "
                   f"{value_text(crit.get('value'), crit.get('unit'))} (pass: {threshold_text(crit)}) "
                   f"at frame {crit.get('deciding_frame')}")
    not_test_note = ("<p class='bad'>The movement does not look like the asked-for test: these measurements "
                     "are not a result.</p>") if not_the_test(v) else ""
    if frames and png is not None:
        import cv2
        rgb = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
        parts.append(f"<div class='card'><img class='wide' src='{_b64(_jpeg(rgb, 540, 85), 'image/jpeg')}' "
                     f"alt='deciding frame'><p>{_e(caption)}</p></div>")
    else:
        parts.append(f"<div class='card'><p class='muted'>{'No deciding-frame image beside this trace.' if frames else 'Frame left out.'}"
                     f"</p><p>{_e(caption)}</p></div>")

    parts.append("<h2>Criteria</h2>" + f"<div class='card'>{not_test_note}{_criteria_table(v.get('criteria', []), v)}</div>")
    parts.append("<h2>Measured series</h2>")
    csv_path = _file(base_dir, measures.get("angles_csv"))
    plots = angle_plots(csv_path, v.get("criteria", [])) if csv_path else []
    if plots:
        parts.append("<div class='card frames'>" + "".join(
            f"<figure><img src='{src}' alt='{_e(cid)}' style='height:auto;width:540px'></figure>"
            for cid, src in plots) + "</div>")
    else:
        parts.append('<p class="muted">No angles.csv beside this trace (or no criterion series to plot).</p>')
    parts.append("<h2>Most similar physio-scored clips</h2>" + f"<div class='card'>{_neighbours(doc)}</div>")
    parts.append("<h2>Rubric passages</h2>" + f"<div class='card'>{_passages(doc)}</div>")
    parts.append("<h2>Run</h2>" + f"<div class='card'>{_run_facts(doc)}</div>")
    parts.append("<h2>Every step</h2>" + _steps(doc))
    parts.append("<h2>The trace itself</h2><details><summary>trace.json <span class='muted'>"
                 "(exactly as verified)</span></summary>"
                 f"<pre>{_e(json.dumps(doc, indent=1, ensure_ascii=False))}</pre></details>")
    title = f"FormScout trace {doc.get('run_id', '')[:8]} - {headline(v, intact=check.intact).title}"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{CSS}</style></head>"
            f"<body><main>{''.join(parts)}<p class='muted'>Made by formscout trace publish. "
            "Screening aid, not a medical device.</p></main></body></html>")


def publish(trace_path: str | Path, out_html: str | Path, frames: bool = True, n_keyframes: int = 4) -> Path:
    """Render the trace at `trace_path` to one self-contained HTML file; returns its path."""
    trace_path = Path(trace_path)
    doc = load_trace(trace_path)
    page = render_page(doc, trace_path.resolve().parent, frames=frames, n_keyframes=n_keyframes)
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    log.info("published %s -> %s (%d kB)", trace_path, out, out.stat().st_size // 1024)
    return out
