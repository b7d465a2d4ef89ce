"""Render an evaluation summary: PNG figures, one self-contained HTML page, JSON and CSV.

Figures (matplotlib, object API, no pyplot global state): confusion matrices
per test, reliability diagram of the tool's confidence, Bland-Altman plot of
the composite, and per-test quadratic kappa against the human inter-rater range.
The HTML page embeds the figures (base64) and puts the published human
reliability figures (HUMAN_REFERENCE, from docs/FMS.md) beside ours.
"""
from __future__ import annotations

import base64
import csv
import html
import json
import time
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tools.study.cv import CVResult
from tools.core.stats import SCORE_LABELS
from tools.core.fms import TESTS

# Published human figures the tool is held to (docs/FMS.md, "The bar a second rater is held to").
HUMAN_REFERENCE: dict = {
    "composite_icc_inter_rater": {"low": 0.74, "high": 0.84,
                                  "source": "Teyhen 2012 JOSPT; meta-analyses Bonazza 2017, Cuchna 2016"},
    "composite_icc_intra_rater": {"low": 0.76, "high": 0.87, "source": "same studies"},
    "per_test_weighted_kappa_video": {
        "low": 0.15, "high": 0.85,
        "by_test": {"hurdle_step": 0.15, "shoulder_mobility": 0.85},
        "weakest": ["inline_lunge", "hurdle_step", "rotary_stability"],
        "source": "Cuff 2018, physios scoring video (weighted kappa between raters)"},
    "best_automated_xing2022": {"kappa": 0.64, "macro_f1": 0.77,
                                "source": "MVDNN, iScience 2023, on Xing et al. 2022 (random, not per-subject, "
                                          "split: likely optimistic)"},
}
CONFIG_NOTE = ("Pain clips are scored 0 from the pain input and left out of agreement. 'Scored' includes "
               "clips flagged for physio review (their provisional score); 'auto-scored' excludes them. "
               "ICC form: ICC(2,1), two-way random effects, absolute agreement, single rater. "
               "Kappa: Cohen's weighted kappa over levels 0-3 (sklearn).")


def _fmt(v, digits: int = 2) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_confusions(summary: dict, path: Path) -> Path:
    tests = [t for t in TESTS + ("all",) if t in summary["per_test"]]
    cols = 4
    rows = int(np.ceil(len(tests) / cols))
    fig = Figure(figsize=(3.1 * cols, 3.0 * rows))
    for k, test in enumerate(tests):
        ax = fig.add_subplot(rows, cols, k + 1)
        cm = np.asarray(summary["per_test"][test]["confusion"])
        ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(1, cm.max()))
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > cm.max() / 2 else "black")
        ax.set_xticks(range(len(SCORE_LABELS)), SCORE_LABELS)
        ax.set_yticks(range(len(SCORE_LABELS)), SCORE_LABELS)
        ax.set_title(test.replace("_", " "), fontsize=9)
        ax.set_xlabel("tool", fontsize=8)
        ax.set_ylabel("physio", fontsize=8)
    fig.suptitle("Confusion matrices (scored, non-pain clips)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def plot_reliability(summary: dict, path: Path) -> Path:
    rel = summary["reliability"]
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    bins = [b for b in rel["bins"] if b["n"] > 0]
    if bins:
        centres = [(b["low"] + b["high"]) / 2 for b in bins]
        ax.bar(centres, [b["accuracy"] for b in bins], width=0.09, alpha=0.7, color="#2a6fb0",
               label="exact agreement in bin")
        ax.plot([b["mean_confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="#c0392b",
                ms=4, label="(mean confidence, accuracy)")
        for c, b in zip(centres, bins):
            ax.text(c, min(1.0, b["accuracy"] + 0.03), str(b["n"]), ha="center", fontsize=7)
        ax.set_title(f"Reliability diagram (ECE {rel['ece']:.3f}, n={rel['n']})", fontsize=10)
    else:
        ax.text(0.5, 0.5, "this scorer reports no confidence", ha="center", va="center")
        ax.set_title("Reliability diagram", fontsize=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("tool confidence in its score")
    ax.set_ylabel("share matching the physio")
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def plot_risk_coverage(summary: dict, path: Path) -> Path:
    rc = summary.get("risk_coverage") or {}
    fig = Figure(figsize=(4.8, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    pts = [p for p in rc.get("curve", []) if p["accuracy"] is not None]
    if pts:
        ax.plot([p["coverage"] for p in pts], [p["accuracy"] for p in pts], "-o", ms=3, color="#2a6fb0",
                label="review line on confidence moved")
        op = rc.get("operating_point") or {}
        if op.get("accuracy") is not None:
            ax.plot([op["coverage"]], [op["accuracy"]], "*", ms=13, color="#c0392b",
                    label=f"this policy: {100 * op['coverage']:.0f}% scored, {100 * op['accuracy']:.1f}% right")
        ax.axhline(0.97, ls="--", color="grey", lw=1, label="97% accuracy")
        ax.set_title(f"Risk-coverage (n={rc.get('n', 0)} pain-free clips)", fontsize=10)
    else:
        ax.text(0.5, 0.5, "no scored clips", ha="center", va="center")
        ax.set_title("Risk-coverage", fontsize=10)
    ax.set_xlim(0, 1.02)
    lows = [p["accuracy"] for p in pts] or [0.0]
    ax.set_ylim(max(0.0, min(lows) - 0.05), 1.01)
    ax.set_xlabel("share scored without physio review (coverage)")
    ax.set_ylabel("accuracy of those")
    ax.legend(fontsize=7, loc="lower left")
    return _save(fig, path)


def plot_bland_altman(summary: dict, path: Path) -> Path:
    comp = summary["composite"]
    fig = Figure(figsize=(5.2, 4.0))
    ax = fig.add_subplot(1, 1, 1)
    physio, tool = np.asarray(comp.get("physio", []), float), np.asarray(comp.get("tool", []), float)
    if len(physio) >= 2:
        mean, diff = (physio + tool) / 2, tool - physio
        jitter = np.random.default_rng(0).uniform(-0.12, 0.12, size=(2, len(mean)))
        ax.scatter(mean + jitter[0], diff + jitter[1], s=16, alpha=0.7, color="#2a6fb0")
        ba = comp["bland_altman"]
        for y, style, label in ((ba["bias"], "-", f"bias {ba['bias']:+.2f}"),
                                (ba["loa_low"], "--", f"-1.96 SD {ba['loa_low']:+.2f}"),
                                (ba["loa_high"], "--", f"+1.96 SD {ba['loa_high']:+.2f}")):
            ax.axhline(y, ls=style, color="#c0392b", lw=1)
            ax.text(ax.get_xlim()[1], y, " " + label, va="center", fontsize=7, color="#c0392b")
        ax.set_title(f"Composite (0-21), Bland-Altman, {len(physio)} sessions", fontsize=10)
    else:
        ax.text(0.5, 0.5, f"{len(physio)} complete session(s): a composite needs all 7 tests, both sides",
                ha="center", va="center", fontsize=8, transform=ax.transAxes)
        ax.set_title("Composite, Bland-Altman", fontsize=10)
    ax.set_xlabel("mean of physio and tool composite")
    ax.set_ylabel("tool - physio")
    return _save(fig, path)


def plot_kappa_vs_human(summary: dict, path: Path) -> Path:
    tests = [t for t in TESTS if t in summary["per_test"]]
    ks = [summary["per_test"][t]["scored"]["kappa_quadratic"] for t in tests]
    ref = HUMAN_REFERENCE["per_test_weighted_kappa_video"]
    fig = Figure(figsize=(7.5, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.axhspan(ref["low"], ref["high"], color="#f1c40f", alpha=0.18,
               label=f"physio vs physio on video, range across tests ({ref['low']}-{ref['high']})")
    x = np.arange(len(tests))
    ax.bar(x, [k if k is not None else 0 for k in ks], color="#2a6fb0", width=0.6, label="tool vs physio (quadratic)")
    for i, t in enumerate(tests):
        if ks[i] is None:
            ax.text(i, 0.02, "n/a", ha="center", fontsize=7)
        if t in ref["by_test"]:
            ax.plot([i - 0.3, i + 0.3], [ref["by_test"][t]] * 2, color="#c0392b", lw=2)
    ax.plot([], [], color="#c0392b", lw=2, label="physio vs physio, that test (Cuff 2018)")
    ax.set_xticks(x, [t.replace("_", "\n") for t in tests], fontsize=7)
    ax.set_ylim(min(0, *(k for k in ks if k is not None)) if any(k is not None for k in ks) else 0, 1)
    ax.set_ylabel("weighted kappa")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2, frameon=False)
    ax.set_title("Per-test agreement next to human inter-rater agreement", fontsize=10)
    return _save(fig, path)


FIGURE_CAPTIONS = {
    "kappa_vs_human": "Quadratic kappa per test, tool vs physio, against the physio-vs-physio range on video.",
    "confusion": "Confusion matrices: rows physio score, columns tool score (scored, non-pain clips).",
    "reliability": "Reliability diagram: the tool's confidence in its score against how often it matched the physio.",
    "risk_coverage": "Risk-coverage: accuracy of the clips scored without review against the share scored without "
                     "review, as the review line moves; the star is the policy's own operating point.",
    "bland_altman": "Bland-Altman plot of the composite (0-21): bias and 95% limits of agreement.",
}


def _img(name: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    caption = html.escape(FIGURE_CAPTIONS.get(name, name))
    return (f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _per_test_table(summary: dict) -> str:
    ref = HUMAN_REFERENCE["per_test_weighted_kappa_video"]
    head = ("<tr><th>test</th><th>clips</th><th>scored</th><th>coverage</th><th>Spearman ρ</th>"
            "<th>exact</th><th>within 1</th><th>κ linear</th><th>κ quadratic</th><th>ICC(2,1) [95% CI]</th>"
            "<th>κ auto-scored only</th><th>human κ (video)</th></tr>")
    body = []
    for test in TESTS + ("all",):
        d = summary["per_test"].get(test)
        if d is None:
            continue
        a, auto = d["scored"], d["auto_scored"]
        if test == "all":
            human = f"{ref['low']}-{ref['high']} across tests"
        elif test in ref["by_test"]:
            human = f"{ref['by_test'][test]:.2f}"
        elif test in ref["weakest"]:
            human = "among the weakest"
        else:
            human = f"within {ref['low']}-{ref['high']}"
        ci = a["icc_ci95"]
        icc = f"{_fmt(a['icc'])} [{_fmt(ci[0])}, {_fmt(ci[1])}]" if a["icc"] is not None else "–"
        why = f' title="{html.escape("; ".join(d["not_scored_reasons"]))}"' if d["not_scored_reasons"] else ""
        body.append(
            f"<tr{' class=all' if test == 'all' else ''}><td>{test.replace('_', ' ')}</td><td>{d['n_clips']}</td>"
            f"<td{why}>{d['n_scored']}</td><td>{_fmt(d['coverage'])}</td><td>{_fmt(a['spearman_rho'])}</td>"
            f"<td>{_fmt(a['exact'])}</td><td>{_fmt(a['within_1'])}</td><td>{_fmt(a['kappa_linear'])}</td>"
            f"<td><b>{_fmt(a['kappa_quadratic'])}</b></td><td>{icc}</td><td>{_fmt(auto['kappa_quadratic'])}</td>"
            f"<td>{human}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _composite_block(summary: dict) -> str:
    c = summary["composite"]
    inter, intra = HUMAN_REFERENCE["composite_icc_inter_rater"], HUMAN_REFERENCE["composite_icc_intra_rater"]
    if not c.get("n_sessions_complete"):
        ours = (f"<p>No complete session ({c.get('n_sessions_incomplete', 0)} incomplete): a composite needs "
                "all seven tests, both sides of the bilateral ones, scored by both raters.</p>")
    else:
        ba = c["bland_altman"]
        ci = c["icc_ci95"]
        ours = (f"<table><tr><th></th><th>sessions</th><th>ICC(2,1) [95% CI]</th><th>Spearman ρ</th><th>exact</th>"
                f"<th>within 1</th><th>bias</th><th>95% limits of agreement</th></tr>"
                f"<tr><td>tool vs physio</td><td>{c['n_sessions_complete']}</td><td><b>{_fmt(c['icc'])}</b> "
                f"[{_fmt(ci[0])}, {_fmt(ci[1])}]</td><td>{_fmt(c['spearman_rho'])}</td><td>{_fmt(c['exact'])}</td>"
                f"<td>{_fmt(c['within_1'])}</td><td>{_fmt(ba['bias'])}</td>"
                f"<td>{_fmt(ba['loa_low'])} to {_fmt(ba['loa_high'])}</td></tr>"
                f"<tr><td>physio vs physio (inter-rater)</td><td></td><td>{inter['low']}-{inter['high']}</td>"
                f"<td colspan=5>{html.escape(inter['source'])}</td></tr>"
                f"<tr><td>same physio twice (intra-rater)</td><td></td><td>{intra['low']}-{intra['high']}</td>"
                f"<td colspan=5>{html.escape(intra['source'])}</td></tr></table>")
    return ours


def _asymmetry_block(summary: dict) -> str:
    a = summary["asymmetry"]
    rows = []
    for test, d in list(a["per_test"].items()) + [("all bilateral tests", a["total"])]:
        rows.append(f"<tr><td>{test.replace('_', ' ')}</td><td>{d['pairs']}</td><td>{d['physio_asymmetric']}</td>"
                    f"<td>{d['detected']}</td><td><b>{_fmt(d['detection_rate'])}</b></td>"
                    f"<td>{d['tool_false_alarms']}</td><td>{_fmt(d['false_alarm_rate'])}</td></tr>")
    return ("<table><tr><th>test</th><th>L/R pairs</th><th>physio-flagged asymmetries</th><th>also flagged by tool</th>"
            "<th>detection rate</th><th>tool-only asymmetries</th><th>false-alarm rate</th></tr>"
            + "".join(rows) + "</table>")


def _calibration_block(summary: dict) -> str:
    r = summary["review_calibration"]
    rec = summary.get("test_recognition")
    out = (f"<table><tr><th>scored clips</th><th>flagged for review</th><th>coverage (auto-scored)</th>"
           f"<th>exact, flagged</th><th>exact, not flagged</th><th>ECE of confidence</th></tr>"
           f"<tr><td>{r['n']}</td><td>{r['n_flagged']}</td><td>{_fmt(r['coverage'])}</td>"
           f"<td>{_fmt(r['exact_flagged'])}</td><td><b>{_fmt(r['exact_unflagged'])}</b></td>"
           f"<td>{_fmt(summary['reliability']['ece'], 3)}</td></tr></table><p class=note>{html.escape(r['note'])}</p>")
    op = (summary.get("risk_coverage") or {}).get("operating_point")
    if op:
        out += (f"<p>Scored without review: <b>{100 * op['coverage']:.1f}%</b> of {summary['risk_coverage']['n']} "
                f"pain-free clips, <b>{_fmt(op['accuracy'], 3)}</b> of them right (95% lower bound "
                f"{_fmt(op['accuracy_wilson_low'], 3)}); confident errors: <b>{op['confident_errors']}</b> "
                f"({op['confident_errors_per_100']:.2f} per 100 clips).</p>")
    so = summary.get("second_opinion")
    if so:
        status = ", ".join(f"{k} {v}" for k, v in sorted(so["status"].items()))
        out += ("<table><tr><th></th><th>confident and right</th><th>confident errors</th></tr>"
                f"<tr><td>rules + quality + ST-GCN second opinion</td><td>{so['confident_correct_with']} "
                f"({100 * so['confident_correct_share_with']:.1f}%)</td><td>{so['confident_errors_with']}</td></tr>"
                f"<tr><td>without the ST-GCN</td><td>{so['confident_correct_without']} "
                f"({100 * so['confident_correct_share_without']:.1f}%)</td><td>{so['confident_errors_without']}</td></tr>"
                f"</table><p>The second opinion caught <b>{so['rule_errors_caught']}</b> rule error(s) and sent "
                f"<b>{so['correct_sent_to_review']}</b> right answer(s) to review (change in confident-and-right: "
                f"{so['confident_correct_change_points']:+.2f} points). Its status per clip: "
                f"{html.escape(status)}.</p>")
    if rec:
        per = ", ".join(f"{t.replace('_', ' ')} {v:.2f}" for t, v in rec["per_test"].items())
        out += (f"<p>Test recognition (which of the 7 tests the movement looks like): "
                f"<b>{rec['accuracy']:.3f}</b> of {rec['n']} clips ({html.escape(per)}).</p>")
    return out


def _disagreement_block(summary: dict, limit: int = 30) -> str:
    rows = summary["disagreements"][:limit]
    if not rows:
        return "<p>No disagreements.</p>"
    body = "".join(
        f"<tr><td>{html.escape(d['clip_id'])}</td><td>{d['test'].replace('_', ' ')}</td><td>{d['side']}</td>"
        f"<td>{d['physio']}</td><td>{d['tool']}</td><td>{'yes' if d['review'] else 'no'}</td>"
        f"<td>{_fmt(d['confidence'])}</td><td>{html.escape(d['reasons'])}</td></tr>" for d in rows)
    return ("<table><tr><th>clip</th><th>test</th><th>side</th><th>physio</th><th>tool</th><th>review</th>"
            f"<th>confidence</th><th>reasons</th></tr>{body}</table>"
            f"<p class=note>{len(summary['disagreements'])} disagreement(s) in total; the largest first.</p>")


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1180px;color:#222}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 7px;text-align:right}
th{background:#f3f5f8}td:first-child,th:first-child{text-align:left}tr.all td{background:#fafafa;font-weight:600}
p{font-size:14px}.note{color:#555;font-size:12px}.meta{color:#444;font-size:13px}img{max-width:100%;margin:6px 8px 6px 0}
.figs{display:flex;flex-wrap:wrap;align-items:flex-start}figure{margin:4px 10px 10px 0;max-width:48%}
figure:first-child,figure:nth-child(2){max-width:100%}figcaption{font-size:12px;color:#555}ul{font-size:13px}"""


def render_html(summary: dict, figures: dict[str, Path], title: str, data_note: str = "") -> str:
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary["notes"])
    auto = HUMAN_REFERENCE["best_automated_xing2022"]
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class=meta>Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} &middot; {summary['n_clips']} clips,
{summary['n_athletes']} athletes &middot; cross-validation: <b>leave-one-{summary['cv']}-out</b>
({summary['n_folds']} folds, {'fitted per fold' if summary['fitted_per_fold'] else 'nothing fitted on these labels'})
{('&middot; data: ' + html.escape(data_note)) if data_note else ''}</p>
<p class=meta><b>Scorer:</b> {html.escape(summary['scorer_description'])}</p>
<p class=note>{html.escape(CONFIG_NOTE)}</p>
<h2>Per test: tool vs physio</h2>{_per_test_table(summary)}
<p class=note>Human bar: weighted kappa between physios scoring video ranged from
{HUMAN_REFERENCE['per_test_weighted_kappa_video']['low']} (hurdle step) to
{HUMAN_REFERENCE['per_test_weighted_kappa_video']['high']} (shoulder mobility)
({html.escape(HUMAN_REFERENCE['per_test_weighted_kappa_video']['source'])}). Best published automated result on the
Xing 2022 Azure-Kinect dataset: kappa {auto['kappa']}, macro-F1 {auto['macro_f1']} ({html.escape(auto['source'])}).</p>
<h2>Composite score (0-21)</h2>{_composite_block(summary)}
<h2>Asymmetry detection (bilateral tests)</h2>{_asymmetry_block(summary)}
<h2>Physio-review flag and confidence</h2>{_calibration_block(summary)}
<h2>Figures</h2><div class=figs>{''.join(_img(k, p) for k, p in figures.items())}</div>
<h2>Largest disagreements</h2>{_disagreement_block(summary)}
<h2>Notes</h2><ul>{notes}</ul>
<p class=note>FormScout is a screening aid, not a medical device: it standardises and flags; the physio decides.</p>
</body></html>"""


def write_report(result: CVResult, summary: dict, out_dir: str | Path, title: str | None = None,
                 data_note: str = "") -> dict[str, str]:
    """Write figures, report.html, summary.json and predictions.csv under out_dir; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "kappa_vs_human": plot_kappa_vs_human(summary, out / "kappa_vs_human.png"),
        "confusion": plot_confusions(summary, out / "confusion.png"),
        "reliability": plot_reliability(summary, out / "reliability.png"),
        "risk_coverage": plot_risk_coverage(summary, out / "risk_coverage.png"),
        "bland_altman": plot_bland_altman(summary, out / "bland_altman.png"),
    }
    title = title or f"FormScout reliability report: {summary['scorer']} vs physio"
    (out / "report.html").write_text(render_html(summary, figures, title, data_note), encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as fh:
        fields = ["clip_id", "athlete_id", "date", "test_name", "side", "physio_score", "pain", "fold",
                  "tool_score", "review", "confidence", "predicted_test", "reasons", "error"]
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for p in result.predictions:
            d = p.to_dict()
            d["reasons"] = "; ".join(d["reasons"])
            w.writerow({k: d[k] for k in fields})
    paths = {k: str(v) for k, v in figures.items()}
    paths.update(html=str(out / "report.html"), summary=str(out / "summary.json"),
                 predictions=str(out / "predictions.csv"))
    return paths
