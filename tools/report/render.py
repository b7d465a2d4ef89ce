"""Render a session scorecard as a self-contained HTML page and a PDF (WeasyPrint).

Contents: the scorecard (per test L/R, counted score, review flags), the
composite (or why it is incomplete), an L/R asymmetry strip, clearing tests,
and per test the deciding frame (from the screening run's overlay) with an
angle plot of the deciding criterion's series against its threshold
(matplotlib, from the run's angles.csv). Images are embedded as data URIs so
the HTML is one file; the PDF is rendered from the same HTML.
"""
from __future__ import annotations

import csv
import html
import logging
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tools.core.fms import BILATERAL, TEST_TITLES, TESTS, test_title
from tools.report.headline import decider_label, headline
from tools.report.images import data_uri_png, file_uri, new_figure
from tools.report.vocabulary import criterion_name, threshold_text, value_text

log = logging.getLogger(__name__)

SCORE_COLOURS = {0: "#b71c1c", 1: "#e65100", 2: "#f9a825", 3: "#2e7d32", None: "#9e9e9e"}

CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 10pt; color: #212121; }
h1 { font-size: 17pt; margin: 0 0 2mm 0; } h2 { font-size: 13pt; margin: 6mm 0 2mm 0; border-bottom: 1px solid #ccc; }
h3 { font-size: 11pt; margin: 4mm 0 1mm 0; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 1px solid #d0d0d0; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
th { background: #f1f1f1; }
.score { display: inline-block; min-width: 7mm; text-align: center; color: white; font-weight: bold; border-radius: 2mm; padding: 0.5mm 1.5mm; }
.flag { color: #b71c1c; font-weight: bold; } .muted { color: #757575; font-size: 8.5pt; }
.score.provisional { background: #fff; color: #3949ab; border: 1.5px dashed #3949ab; font-weight: normal; }
.broken { background: #b71c1c; color: #fff; font-weight: bold; padding: 1mm 2mm; border-radius: 1.5mm; }
.composite { font-size: 15pt; font-weight: bold; } .incomplete { color: #e65100; }
.test { page-break-inside: avoid; margin-bottom: 4mm; }
.imgrow img { max-width: 48%; max-height: 62mm; margin-right: 2%; vertical-align: top; }
.strip img { width: 100%; }
"""


def _esc(x) -> str:
    return html.escape("" if x is None else str(x))


def _badge(score, review: bool = False) -> str:
    """A score badge; a score under a physio-review flag is drawn as provisional (outlined, 'provisional N')."""
    label = "-" if score is None else str(score)
    if review and score is not None:
        return f'<span class="score provisional">provisional {label}</span>'
    return f'<span class="score" style="background:{SCORE_COLOURS.get(score, "#9e9e9e")}">{label}</span>'


def _clip_verdict(clip: dict) -> dict:
    """A clip row of the scorecard in the verdict's shape, for tools.report.headline."""
    return {"test": clip.get("test"), "side": clip.get("side"), "score": clip.get("score"),
            "review": clip.get("review"), "confidence": clip.get("confidence"),
            "inputs": {"pain": clip.get("pain")}, "test_recognition": clip.get("test_recognition"),
            "deciding_criterion": clip.get("deciding_criterion"), "criteria": clip.get("criteria") or []}


def asymmetry_strip(scorecard: dict) -> str:
    """PNG data URI: per bilateral test, L and R scores side by side; asymmetric tests highlighted."""
    tests = [t for t in TESTS if t in BILATERAL]
    fig, ax = new_figure((8.0, 2.4))
    for i, t in enumerate(tests):
        row = scorecard["tests"][t]
        vals = {s: (row[s]["score"] if row[s] else None) for s in ("L", "R")}
        asym = row.get("asymmetry")
        if asym:
            ax.axvspan(i - 0.45, i + 0.45, color="#ffe0b2", zorder=0)
        for s, dx, marker in (("L", -0.15, "o"), ("R", 0.15, "s")):
            v = vals[s]
            if v is None:
                ax.text(i + dx, 0.2, "?", ha="center", color="#9e9e9e", fontsize=11)
                continue
            ax.bar(i + dx, v + 0.05, width=0.28, color=SCORE_COLOURS[v], alpha=0.85, zorder=2)
            ax.text(i + dx, v + 0.15, f"{s} {v}", ha="center", fontsize=8, zorder=3)
    ax.set_xticks(range(len(tests)))
    ax.set_xticklabels([TEST_TITLES[t].replace(" ", "\n", 1) for t in tests], fontsize=8)
    ax.set_ylim(0, 3.6)
    ax.set_yticks([0, 1, 2, 3])
    ax.set_ylabel("score")
    ax.set_title("Left / right by test (shaded: asymmetry)", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return data_uri_png(fig)


def read_series(angles_csv: str | None, name: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(time_s, values) of one column of a run's angles.csv; None when absent."""
    if not angles_csv or not name or not Path(angles_csv).is_file():
        return None
    with open(angles_csv, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        if name not in columns:   # a criterion read from both sides (deep squat): plot the left one
            name = next((c for c in (f"left_{name}", f"right_{name}") if c in columns), None)
            if name is None:
                return None
        t, v = [], []
        for row in reader:
            t.append(float(row["time_s"]))
            v.append(float(row[name]) if row[name] not in ("", None) else np.nan)
    return np.asarray(t), np.asarray(v)


def criterion_plot(clip: dict, fps_hint: float = 30.0) -> str | None:
    """PNG data URI: the deciding criterion's series over the clip, its threshold and deciding frame."""
    crit = next((c for c in clip.get("criteria", []) if c.get("id") == clip.get("deciding_criterion")), None)
    if crit is None:
        return None
    series = read_series(clip.get("angles_csv"), crit.get("measure"))
    if series is None:
        return None
    t, v = series
    fig, ax = new_figure((4.2, 2.4))
    ax.plot(t, v, color="#1565c0", lw=1.4, label=crit["measure"])
    same_unit = crit.get("unit") and crit["measure"].endswith(crit["unit"])
    if same_unit:
        ax.axhline(crit["threshold"], color="#b71c1c", ls="--", lw=1, label=f"threshold {crit['pass_if']} {crit['threshold']:g}")
    frame = crit.get("deciding_frame")
    if frame is not None and 0 <= frame < len(t):
        ax.axvline(t[frame], color="#616161", ls=":", lw=1)
        if np.isfinite(v[frame]):
            ax.plot([t[frame]], [v[frame]], "o", color="#b71c1c" if crit.get("passed") is False else "#2e7d32")
    ax.set_xlabel("time (s)", fontsize=8)
    ax.set_ylabel(crit.get("unit", ""), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6.5, loc="best")
    ax.set_title(f"{crit['id']} ({'pass' if crit.get('passed') else 'FAIL' if crit.get('passed') is False else 'not judged'})",
                 fontsize=8.5)
    ax.spines[["top", "right"]].set_visible(False)
    return data_uri_png(fig)


def _scorecard_table(sc: dict) -> str:
    rows = ["<tr><th>Test</th><th>Left</th><th>Right</th><th>Counted</th><th>Notes</th></tr>"]
    for t in TESTS:
        r = sc["tests"][t]
        notes = []
        if r.get("asymmetry"):
            notes.append("asymmetry")
        if r.get("review"):
            notes.append('<span class="flag">physio review</span>')
        if r["counted"] is None:
            notes.append("missing" + (f" side {', '.join(r['missing_sides'])}" if r.get("missing_sides") else ""))
        for e in r.get("errors", []):
            notes.append(f"line {e['line']}: {_esc(e['error'])}")
        if r["bilateral"]:
            cells = "".join(f"<td>{_badge(r[s]['score'] if r[s] else None, bool(r[s] and r[s]['review']))}"
                            f"{' <span class=muted>(side inferred)</span>' if r[s] and r[s]['side_inferred'] else ''}</td>"
                            for s in ("L", "R"))
        else:
            one = r["score"]["score"] if r["score"] else None
            cells = f'<td colspan="2">{_badge(one, bool(r["score"] and r["score"]["review"]))}</td>'
        rows.append(f"<tr><td>{TEST_TITLES[t]}</td>{cells}<td>{_badge(r['counted'])}</td><td>{'; '.join(notes)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def _clip_section(clip: dict) -> str:
    """One clip: its headline (tools.report.headline), deciding frame, plot and criteria in a physio's words."""
    h = headline(_clip_verdict(clip), intact=clip.get("trace_intact"))
    side = None if clip["side"] in ("NA", "?") else clip["side"]
    if h.kind == "not_intact":
        title_html = f'{_esc(test_title(clip["test"], side))} <span class="broken">{_esc(h.title)}</span>'
    elif h.kind in ("not_the_test", "no_score"):
        title_html = f'{_esc(h.title)}'
    else:
        title_html = (f'{_esc(test_title(clip["test"], side))} {_badge(clip["score"], bool(clip["review"]))}'
                      f'{" <span class=flag>physio review</span>" if clip["review"] else ""}')
    parts = [f'<div class="test"><h3>{title_html}</h3>',
             f'<div class="muted">{_esc(Path(clip["clip"]).name)} (manifest line {clip["line"]})'
             f'{" - " + _esc(clip["test_version"]) if clip.get("test_version") else ""}</div>']
    parts += [f"<p>{_esc(line)}</p>" for line in h.lines if h.kind != "score"]
    if clip.get("error"):
        parts.append(f'<p class="flag">not scored: {_esc(clip["error"])}</p></div>')
        return "".join(parts)
    if h.kind == "not_intact":
        parts.append("</div>")
        return "".join(parts)
    imgs = [u for u in (file_uri(clip.get("deciding_frame_png")), criterion_plot(clip)) if u]
    if imgs:
        parts.append('<div class="imgrow">' + "".join(f'<img src="{u}"/>' for u in imgs) + "</div>")
    if clip.get("criteria"):
        if h.kind == "not_the_test":
            parts.append('<p class="flag">Measured as if it were this test (not a result):</p>')
        label = decider_label(_clip_verdict(clip)).lower()
        rows = ["<tr><th>Criterion</th><th>Measured</th><th>Passes at</th><th>Result</th><th>Frame</th></tr>"]
        for c in clip["criteria"]:
            names = criterion_name(clip["test"], c["id"])
            result = {True: "pass", False: "<b>fail</b>", None: f"not judged ({_esc(c.get('reason'))})"}[c.get("passed")]
            tag = f" <span class='muted'>({_esc(label)})</span>" if c["id"] == clip.get("deciding_criterion") else ""
            rows.append(f"<tr><td>{_esc(names.name)}{tag}<br><span class='muted'>{_esc(names.explanation)}</span></td>"
                        f"<td>{_esc(value_text(c.get('value'), c.get('unit')))}</td><td>{_esc(threshold_text(c))}</td>"
                        f"<td>{result}</td><td>{'' if c.get('deciding_frame') is None else c['deciding_frame']}</td></tr>")
        parts.append("<table>" + "".join(rows) + "</table>")
    if clip.get("repetitions"):       # several repetitions in the clip: which one counted (tools/report/recording.py)
        from tools.report.recording import repetitions_table
        parts.append(repetitions_table(clip))
    if clip.get("reasons"):
        parts.append("<div><b>Review reasons:</b><ul>" + "".join(f"<li>{_esc(r)}</li>" for r in clip["reasons"]) + "</ul></div>")
    parts.append("</div>")
    return "".join(parts)


def render_html(scorecard: dict, title: str = "FMS session report") -> str:
    sc = scorecard
    comp = sc["composite"]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = [f"<h1>{_esc(title)}</h1>",
            f"<div class='muted'>Athlete {_esc(sc.get('athlete_id') or 'not given')} - sex {_esc(sc.get('sex') or 'not given')}"
            f" - generated {when} - rubric {_esc(sc.get('rubric_version', ''))}</div>",
            f"<p class='composite {'' if comp['complete'] else 'incomplete'}'>Composite: {_esc(comp['label'])}</p>"]
    if sc["missing_tests"]:
        head.append(f"<p>Missing or unscored tests: {', '.join(TEST_TITLES[t] for t in sc['missing_tests'])}</p>")
    if sc["asymmetries"]:
        head.append("<p>Asymmetries: " + ", ".join(f"{TEST_TITLES[a['test']]} (L {a['L']}, R {a['R']})"
                                                   for a in sc["asymmetries"]) + "</p>")
    else:
        head.append("<p>Asymmetries: none among the bilateral tests scored on both sides.</p>")
    if sc["review_tests"]:
        head.append("<p class='flag'>Physio review needed for: "
                    + ", ".join(TEST_TITLES[t] for t in sc["review_tests"]) + "</p>")
    clearing = ["<tr><th>Clearing test</th><th>Clears</th><th>Pain</th></tr>"] + [
        f"<tr><td>{_esc(c['clearing_test'])}</td><td>{TEST_TITLES[c['test']]}</td>"
        f"<td>{'not recorded' if c['pain'] is None else ('<b>yes</b> (' + ', '.join(c['sides_with_pain']) + ') - test scored 0' if c['pain'] else 'no')}</td></tr>"
        for c in sc["clearing_tests"]]
    body = head + ["<h2>Scorecard</h2>", _scorecard_table(sc),
                   "<h2>Left / right</h2>", f"<div class='strip'><img src='{asymmetry_strip(sc)}'/></div>",
                   "<h2>Clearing tests</h2>", "<table>" + "".join(clearing) + "</table>",
                   "<h2>Per test: deciding frame and measurement</h2>"]
    if sc.get("recording"):          # one recording of the whole screen: where it was split (tools/report/recording.py)
        from tools.report.recording import recording_section
        body[-1:-1] = recording_section(sc["recording"])
    body += [_clip_section(c) for c in sorted(sc["clips"], key=lambda c: (TESTS.index(c["test"]) if c["test"] in TESTS else 99, c["side"], c["line"]))]
    body.append("<h2>About this report</h2><p class='muted'>" + "<br/>".join(_esc(n) for n in sc.get("notes", []))
                + "<br/>Screening aid, not a diagnosis: a physio reviews every result. Pain is reported by the athlete, "
                  "never inferred from video.</p>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_esc(title)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>")


def write_report(scorecard: dict, out_dir: str | Path, title: str = "FMS session report",
                 pdf: bool = True) -> dict:
    """Write session_report.html (+ session_report.pdf); returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    page = render_html(scorecard, title)
    html_path = out / "session_report.html"
    html_path.write_text(page, encoding="utf-8")
    paths = {"html": str(html_path), "pdf": None}
    if pdf:
        from weasyprint import HTML
        pdf_path = out / "session_report.pdf"
        HTML(string=page, base_url=str(out)).write_pdf(str(pdf_path))
        paths["pdf"] = str(pdf_path)
    log.info("session report: %s", paths)
    return paths
