"""`formscout eval`: score physio-labelled clips and report agreement like a reliability study.

  formscout eval LABELS.csv --clips DIR [--scorer rules|stgcn|agent] [--cv athlete|clip] [--out DIR] [--json]
  formscout eval LABELS.csv --clips DIR --scorer stgcn [--checkpoint BASE.pt] [--adapter ADAPTER_DIR]
  formscout eval --xing2022 PATH [--xing-view front|side] [--scorer ...]   (public Azure-Kinect FMS dataset)

Per test and for the composite: Spearman rho, exact and within-1 agreement,
weighted kappa (linear, quadratic), ICC(2,1); asymmetry detection; how well
the physio-review flag picks the clips the tool gets wrong; confusion
matrices, reliability diagram, Bland-Altman plot; an HTML report with the
published human inter-rater figures beside ours (OUT/report.html).

Cross-validation: leave-one-athlete-out by default. The rules and a frozen
ST-GCN learn nothing from the labels, so their predictions are the same in
every fold (the report says so); --finetune-per-fold LoRA-adapts the ST-GCN on
each training fold so the held-out athlete is never seen.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from tools.core.errors import InputError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("eval", help="agreement with physio scores, like a reliability study",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("labels", nargs="?", help="labels CSV (clip_id, athlete_id, date, test_name, side, score, pain, ...)")
    p.add_argument("--clips", help="folder holding <clip_id>.npz skeletons (default: beside the CSV)")
    p.add_argument("--scorer", choices=("rules", "stgcn", "decision", "agent"), default="rules",
                   help="what is compared with the physio (default rules); decision = the screening path without "
                        "the agent loop: prepare, rules, ST-GCN second opinion, decision policy (fast)")
    p.add_argument("--inputs", help="decision/agent: per-clip screen inputs a physio gives (CSV with clip_id and any "
                                    "of sex, heels_raised, hand_length_m; or a synthetic library's truth.jsonl)")
    p.add_argument("--no-stgcn", action="store_true", help="decision: without the ST-GCN second opinion")
    p.add_argument("--drop-camera", action="store_true",
                   help="decision: score each skeleton without its camera (meta camera/camera_view, uv): a world "
                        "skeleton with no view information")
    p.add_argument("--policy", help="decision: decision policy YAML (default knowledge/decision_policy.yaml)")
    p.add_argument("--fit-policy", metavar="OUT.yaml",
                   help="decision: fit the policy (calibration, review line, second-opinion thresholds) on these "
                        "clips and write it to OUT.yaml; fit on clips you will not evaluate on")
    p.add_argument("--target-accuracy", type=float, default=0.97,
                   help="--fit-policy: accuracy required of the clips scored without review (default 0.97)")
    p.add_argument("--cv", choices=("athlete", "clip"), default="athlete",
                   help="leave-one-athlete-out (default) or leave-one-clip-out")
    p.add_argument("--out", default="out/eval", help="report folder (default out/eval)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--skip-missing", action="store_true", help="evaluate the clips that exist if some are missing")
    p.add_argument("--criteria", help="rules: criteria YAML overriding knowledge/criteria.yaml")
    p.add_argument("--checkpoint", help="stgcn: checkpoint (default: the committed one)")
    p.add_argument("--adapter", help="stgcn: LoRA adapter folder to apply on top of --checkpoint "
                                     "(made by `formscout train --finetune ... --lora`)")
    p.add_argument("--allow-rejected-adapter", action="store_true",
                   help="stgcn: apply --adapter even if its own validation rejected it")
    p.add_argument("--finetune-per-fold", action="store_true",
                   help="stgcn: LoRA-fine-tune on each training fold (slower; honest CV of fine-tuning)")
    p.add_argument("--lora-epochs", type=int, help="stgcn --finetune-per-fold: at most this many epochs per fold "
                                                   "(default 30, early-stopped)")
    p.add_argument("--review-threshold", type=float, default=0.6,
                   help="stgcn: flag for review when P(score) is below this (default 0.6)")
    p.add_argument("--brain", default="protocol", help="agent: which brain runs the screening (default protocol)")
    p.add_argument("--xing2022", metavar="PATH", help="evaluate on the Xing et al. 2022 Azure-Kinect FMS dataset")
    p.add_argument("--xing-view", choices=("front", "side"), default="front", help="xing2022: camera (default front)")
    p.add_argument("--xing-mapping", help="xing2022: JSON overriding the movement-code -> [test, side] map")
    p.add_argument("--title", help="report title")
    p.set_defaults(func=run)


class AgentScorer:
    """The full screening agent (agent.screening.run.screen) as a scorer: one run per clip."""

    name = "agent"
    fits_labels = False

    def __init__(self, run_root: Path, brain: str = "protocol", criteria_file: str | None = None):
        try:
            from agent.screening.run import screen  # noqa: F401
            from agent.screening.protocol import ScreenRequest  # noqa: F401
        except ImportError as exc:
            raise InputError(f"agent scorer not available yet ({exc}); use --scorer rules or stgcn") from exc
        self.run_root = Path(run_root)
        self.brain = brain
        self.criteria_file = criteria_file or ""

    def describe(self) -> str:
        return (f"the FormScout screening agent (brain '{self.brain}'): rules + ST-GCN + retrieval + decision "
                "policy, one full run per clip; nothing is fitted on the evaluated labels")

    def notes(self, rows) -> list[str]:
        return [f"agent run folders (verdicts, traces) under {self.run_root}"]

    def fit(self, rows) -> None:
        return None

    def reset(self) -> None:
        return None

    def predict(self, rows):
        from agent.screening.protocol import ScreenRequest
        from agent.screening.run import screen
        from tools.study.cv import ToolOutput, is_pain
        from tools.core.fms import BILATERAL
        out = []
        for row in rows:
            request = ScreenRequest(source=row.path, test=row.test_name, run_dir=str(self.run_root / row.clip_id),
                                    side=row.side if row.test_name in BILATERAL else None, pain=is_pain(row),
                                    athlete_id=row.athlete_id, criteria_file=self.criteria_file)
            try:
                v = screen(request, brain=self.brain)
            except InputError as exc:
                out.append(ToolOutput(score=None, review=True, error=str(exc), reasons=[str(exc)]))
                continue
            out.append(ToolOutput(score=v.get("score"), review=bool(v.get("review")),
                                  confidence=v.get("confidence"), reasons=list(v.get("reasons", []))))
        return out


class DecisionScorer:
    """The screening path without the agent loop: the same step functions a run calls (prepare, rules,
    ST-GCN) and the decision policy, once per clip; each verdict is also decided without the ST-GCN
    (kept in `extra`) so its effect can be measured. No retrieval (an evaluation has no library)."""

    name = "decision"
    fits_labels = False

    def __init__(self, criteria_file: str | None = None, checkpoint: str | None = None, use_stgcn: bool = True,
                 inputs: dict | None = None, drop_camera: bool = False, policy_file: str | None = None):
        from agent.screening.decide import load_policy
        from agent.screening.steps import STGCN_CHECKPOINT
        self.criteria_file = criteria_file or ""
        self.checkpoint = str(checkpoint or STGCN_CHECKPOINT)
        self.use_stgcn = bool(use_stgcn) and Path(self.checkpoint).is_file()
        self.inputs = inputs or {}
        self.drop_camera = drop_camera
        self.policy = load_policy(policy_file)

    def describe(self) -> str:
        what = (f"second opinion {Path(self.checkpoint).name}" if self.use_stgcn else "no second opinion")
        return (f"the screening decision without the agent loop: skeleton prepared as in a run, deterministic rubric"
                f"{' (' + self.criteria_file + ')' if self.criteria_file else ''}, {what}, decision policy "
                f"{self.policy.source}{'; skeletons scored without their camera' if self.drop_camera else ''}; "
                "nothing is fitted on the evaluated labels")

    def notes(self, rows) -> list[str]:
        given = sum(r.clip_id in self.inputs for r in rows)
        return [f"screen inputs (sex, heels raised, hand length) given for {given} of {len(rows)} clips"]

    def fit(self, rows) -> None:
        return None

    def reset(self) -> None:
        return None

    def predict(self, rows):
        import tempfile
        from tools.study.cv import ToolOutput
        out = []
        with tempfile.TemporaryDirectory(prefix="formscout-eval-") as tmp:
            for row in rows:
                try:
                    out.append(self._one(row, Path(tmp)))
                except InputError as exc:
                    out.append(ToolOutput(score=None, review=True, error=str(exc), reasons=[str(exc)]))
        return out

    def _one(self, row, tmp: Path):
        from agent.screening import steps
        from agent.screening.decide import decide
        from tools.core.fms import BILATERAL
        from tools.core.skeleton import Skeleton
        from tools.study.cv import ToolOutput, is_pain
        source = row.path
        if self.drop_camera:
            skel = Skeleton.load(source)
            meta = {k: v for k, v in skel.meta.items() if k not in ("camera", "camera_view")}
            source = str(skel.replace(uv=None, image_size=None, meta=meta).save(tmp / "world.npz"))
        given = self.inputs.get(row.clip_id, {})
        side = row.side if row.test_name in BILATERAL else ""
        prep = steps.prepare_skeleton(source, str(tmp), row.test_name)
        rubric = steps.score_rubric(prep["skeleton_path"], row.test_name, side, pain=is_pain(row),
                                    heels_raised=given.get("heels_raised", "auto"), criteria_file=self.criteria_file,
                                    sex=given.get("sex", ""), hand_length_m=given.get("hand_length_m"))
        stgcn = (steps.score_stgcn(prep["skeleton_path"], row.test_name, side, is_pain(row), self.checkpoint)
                 if self.use_stgcn else None)
        quality = prep["quality"]
        with_second = decide(rubric, quality, stgcn, None, self.policy)
        without = decide(rubric, quality, None, None, self.policy)
        so = with_second["second_opinion"]
        extra = {
            "rule_score": rubric.get("score"), "rule_confidence": float(rubric.get("confidence") or 0.0),
            "quality_factor": with_second["evidence"].get("quality_factor", 1.0),
            "other_reasons": any(d["evidence"] not in ("rules_margin", "second_opinion")
                                 for d in without["reason_details"]),
            "decided_by": with_second["decided_by"],
            "without_stgcn": {"score": without["score"], "review": without["review"],
                              "confidence": without["confidence"]},
            "second_opinion": {k: so.get(k) for k in ("status", "score", "p_rule_score")},
            "stgcn_best_p": max(so.get("p_score") or [0.0]), "stgcn_ood": (stgcn or {}).get("ood"),
        }
        return ToolOutput(score=with_second["score"], review=bool(with_second["review"]),
                          confidence=float(with_second["confidence"]), reasons=list(with_second["reasons"]),
                          predicted_test=(stgcn or {}).get("predicted_test"), extra=extra)


def load_screen_inputs(path: str | None) -> dict:
    """clip_id -> {sex, heels_raised, hand_length_m} from a CSV or a synthetic library's truth.jsonl."""
    if not path:
        return {}
    import csv
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--inputs {p}: no such file (a CSV with clip_id, sex, heels_raised, hand_length_m, "
                         "or a synthetic library's truth.jsonl)")
    out: dict = {}
    if p.suffix == ".jsonl":
        for line in p.read_text().splitlines():
            if not line.strip():
                continue
            t = json.loads(line)
            sex = str((t.get("athlete") or {}).get("sex", "")).upper()[:1]
            entry = {"sex": sex if sex in ("M", "F") else ""}
            if t.get("test_name") == "deep_squat":
                entry["heels_raised"] = "yes" if (t.get("knobs") or {}).get("heel_board") else "no"
            out[t["clip_id"]] = entry
        return out
    with open(p, newline="") as fh:
        for r in csv.DictReader(fh):
            if not r.get("clip_id"):
                continue
            entry = {}
            if r.get("sex"):
                entry["sex"] = r["sex"].strip().upper()[:1]
            if r.get("heels_raised"):
                entry["heels_raised"] = r["heels_raised"].strip().lower()
            if r.get("hand_length_m"):
                try:
                    entry["hand_length_m"] = float(r["hand_length_m"])
                except ValueError as exc:
                    raise InputError(f"--inputs {p}: hand_length_m {r['hand_length_m']!r} of {r['clip_id']} "
                                     "is not a number of metres") from exc
            out[r["clip_id"]] = entry
    return out


def make_scorer(args: argparse.Namespace, out_dir: Path):
    from tools.study.scorers import RulesScorer, STGCNEvalScorer
    if args.scorer == "rules":
        return RulesScorer(args.criteria)
    if args.scorer == "decision":
        return DecisionScorer(args.criteria, args.checkpoint, use_stgcn=not args.no_stgcn,
                              inputs=load_screen_inputs(args.inputs), drop_camera=args.drop_camera,
                              policy_file=args.policy)
    if args.scorer == "stgcn":
        return STGCNEvalScorer(checkpoint=args.checkpoint, adapter=args.adapter,
                               finetune_per_fold=args.finetune_per_fold, review_threshold=args.review_threshold,
                               lora_epochs=args.lora_epochs, allow_rejected_adapter=args.allow_rejected_adapter)
    return AgentScorer(out_dir / "agent_runs", brain=args.brain, criteria_file=args.criteria)


def run(args: argparse.Namespace) -> int:
    from tools.study.cv import cross_validate
    from tools.core.labels import read_labels, resolve_clips
    from tools.study.report import write_report
    from tools.study.summary import summarise

    out_dir = Path(args.out)
    data_note = ""
    human_here = None
    if args.xing2022:
        from tools.study.xing2022 import convert_xing2022, inter_expert_agreement
        conv = convert_xing2022(args.xing2022, out_dir / "xing2022_converted", args.xing_view, args.xing_mapping)
        labels_path, clips_dir = Path(conv.labels_csv), conv.clips_dir
        human_here = inter_expert_agreement(conv.experts_json, conv.labels_csv)
        data_note = (f"Xing et al. 2022 Azure-Kinect FMS dataset ({args.xing_view} view), {conv.n_clips} clips "
                     f"converted, {conv.n_skipped} skipped; format and movement map unverified against the real files")
        extra_notes = conv.notes + [f"xing2022: {p}" for p in conv.problems[:10]]
    else:
        if not args.labels:
            raise InputError("give a labels CSV (formscout eval LABELS.csv --clips DIR) or --xing2022 PATH")
        labels_path = Path(args.labels)
        clips_dir = args.clips or (labels_path.parent / "clips" if (labels_path.parent / "clips").is_dir()
                                   else labels_path.parent)
        extra_notes = []
        data_note = str(labels_path)
    rows = read_labels(labels_path)
    n_labelled = len(rows)
    rows = resolve_clips(rows, clips_dir, labels_path, on_missing="skip" if args.skip_missing else "error")
    if len(rows) < n_labelled:
        extra_notes.append(f"{n_labelled - len(rows)} labelled clip(s) had no skeleton file and were skipped")
    if args.fit_policy and args.scorer != "decision":
        raise InputError("--fit-policy fits the decision policy: use it with --scorer decision")
    scorer = make_scorer(args, out_dir)
    result = cross_validate(rows, scorer, args.cv)
    result.notes.extend(extra_notes)
    summary = summarise(result)
    if human_here is not None:
        summary["human_on_this_data"] = human_here
        summary["notes"].append("experts vs each other on this data (quadratic kappa, mean over pairs): "
                                + ", ".join(f"{t} {v['mean_pairwise_kappa_quadratic']}" for t, v in human_here.items()))
    if args.fit_policy:
        fitted = fit_and_write_policy(result, Path(args.fit_policy), args, data_note)
        summary["policy_fit"] = fitted
    paths = write_report(result, summary, out_dir, title=args.title, data_note=data_note)
    summary["outputs"] = paths
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    a = summary["per_test"].get("all", {}).get("scored", {})
    c = summary["composite"]
    print(f"{summary['scorer']} vs physio, leave-one-{summary['cv']}-out: {summary['n_clips']} clips, "
          f"{summary['n_athletes']} athletes")
    for test, d in summary["per_test"].items():
        s = d["scored"]
        print(f"  {test:<27} n={s['n']:<4} exact={_f(s['exact'])} within1={_f(s['within_1'])} "
              f"kappa_q={_f(s['kappa_quadratic'])} rho={_f(s['spearman_rho'])} coverage={_f(d['coverage'])}")
    if c.get("n_sessions_complete"):
        print(f"  composite: {c['n_sessions_complete']} sessions, ICC(2,1)={_f(c['icc'])}, "
              f"bias={_f(c['bland_altman']['bias'])}")
    print(f"  overall quadratic kappa {_f(a.get('kappa_quadratic'))}; report: {paths['html']}")
    for line in calibration_lines(summary):
        print(line)
    if args.fit_policy:
        f = summary["policy_fit"]
        print(f"  policy written to {args.fit_policy}: review line {f['line']['min_confidence']:.3f} "
              f"(accuracy {f['line']['unflagged_accuracy']} on {f['line']['unflagged']} unflagged clips), "
              f"second opinion disagrees at P >= {f['second_opinion']['chosen']['min_stgcn_confidence']} with "
              f"P(rule score) <= {f['second_opinion']['chosen']['min_stgcn_agreement']}")
    for note in summary["notes"]:
        print(f"  note: {note}")
    return 0


def calibration_lines(summary: dict) -> list[str]:
    """The risk-coverage curve, the reliability diagram (with ECE) and the second opinion's effect, as text."""
    lines = []
    rc = summary.get("risk_coverage") or {}
    op = rc.get("operating_point")
    if op:
        lines.append(f"  scored without review: {100 * op['coverage']:.1f}% of {rc['n']} pain-free clips, accuracy "
                     f"{_f(op['accuracy'])} (95% low {_f(op['accuracy_wilson_low'])}), confident errors "
                     f"{op['confident_errors']} ({op['confident_errors_per_100']:.2f} per 100)")
        lines.append("  risk-coverage (review line on confidence -> share scored without review, their accuracy):")
        for pt in rc["curve"]:
            if pt["accuracy"] is not None:
                lines.append(f"    line {pt['line']:.3f}  coverage {pt['coverage']:.3f}  accuracy {pt['accuracy']:.3f}")
    rel = summary.get("reliability") or {}
    if rel.get("n"):
        lines.append(f"  reliability diagram (confidence bin: n, mean confidence, accuracy), ECE {_f(rel['ece'])}:")
        for b in rel["bins"]:
            if b["n"]:
                lines.append(f"    {b['low']:.1f}-{b['high']:.1f}: n={b['n']:<4} confidence {b['mean_confidence']:.3f}"
                             f"  accuracy {b['accuracy']:.3f}")
    so = summary.get("second_opinion")
    if so:
        lines.append(f"  second opinion: confident and right {100 * so['confident_correct_share_with']:.1f}% with vs "
                     f"{100 * so['confident_correct_share_without']:.1f}% without ({so['confident_correct_change_points']:+.2f}"
                     f" points); rule errors caught {so['rule_errors_caught']}, right answers sent to review "
                     f"{so['correct_sent_to_review']}; confident errors {so['confident_errors_with']} with, "
                     f"{so['confident_errors_without']} without; status {so['status']}")
    return lines


def fit_and_write_policy(result, out_path: Path, args: argparse.Namespace, data_note: str) -> dict:
    """Fit the decision policy on the evaluated clips (tools.study.policy_fit) and write the policy file."""
    import time
    import yaml
    from agent.screening.decide import load_policy
    from tools.study.policy_fit import PolicyRecord, fit_policy
    records = []
    for p in result.predictions:
        e = p.extra
        if p.pain or e.get("rule_score") is None:
            continue
        so = e.get("second_opinion") or {}
        records.append(PolicyRecord(
            correct=e["rule_score"] == p.physio_score, rule_confidence=float(e["rule_confidence"]),
            quality_factor=float(e.get("quality_factor", 1.0)), other_reasons=bool(e.get("other_reasons")),
            stgcn_in_distribution=so.get("status") in ("agrees", "disagrees", "uncertain"),
            stgcn_best_p=float(e.get("stgcn_best_p") or 0.0), stgcn_p_rule=float(so.get("p_rule_score") or 0.0),
            stgcn_agrees=so.get("score") in (None, e["rule_score"])))
    fit = fit_policy(records, target_accuracy=args.target_accuracy)
    base = load_policy(args.policy)
    chosen = fit.second_opinion["chosen"]
    doc = {
        "version": 1,
        "about": ("FormScout decision policy (agent/screening/decide.py reads it by path). Written by "
                  "`formscout eval --scorer decision --fit-policy`; every value below is justified by the figures "
                  "under `justification`, measured on the clips named in `fitted.data` (never the clips a "
                  "benchmark then evaluates on)."),
        "fitted": {"command": "formscout eval " + " ".join(_argv_tail()), "data": data_note,
                   "date": time.strftime("%Y-%m-%d", time.gmtime()), "n_clips": fit.n_clips},
        "policy": {
            "min_confidence": fit.line["min_confidence"],
            "min_athlete_share": base.min_athlete_share,
            "quality_problem_factor": base.quality_problem_factor,
            "selection_problem_factor": base.selection_problem_factor,
            "min_stgcn_confidence": chosen["min_stgcn_confidence"],
            "min_stgcn_agreement": chosen["min_stgcn_agreement"],
            "rescue_min_confidence": fit.rescue["chosen"]["rescue_min_confidence"],
            "rescue_min_stgcn_p": fit.rescue["chosen"]["rescue_min_stgcn_p"],
            "rescue_p_correct": fit.rescue["chosen"]["rescue_p_correct"],
            "neighbour_k": base.neighbour_k,
            "min_neighbour_disagreement": base.min_neighbour_disagreement,
        },
        "calibration": {"rule_confidence": fit.calibration_rule_confidence, "p_correct": fit.calibration_p_correct},
        "justification": {
            "min_confidence": fit.line,
            "calibration": {"method": "isotonic regression of rule score == label on the raw rule confidence",
                            "ece_raw": fit.ece_raw, "ece_calibrated": fit.ece_calibrated},
            "second_opinion": {k: v for k, v in fit.second_opinion.items() if k != "grid"},
            "second_opinion_grid": fit.second_opinion["grid"],
            "rescue": {**fit.rescue["chosen"], "note": "rescue_p_correct is the 95% Wilson lower bound of the rescued "
                                                          "clips' accuracy: the confidence a rescued clip shows"},
            "rescue_grid": fit.rescue["grid"],
            "quality_factors": ("not fitted: each pose-quality or athlete-selection problem halves the confidence, so "
                                "any failed quality check puts a clip under the review line (0.5 < min_confidence)"),
        },
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(yaml.safe_dump(doc, sort_keys=False, width=110))
    return fit.to_dict()


def _argv_tail() -> list[str]:
    import sys
    argv = list(sys.argv)
    return argv[argv.index("eval") + 1:] if "eval" in argv else argv[1:]


def _f(v) -> str:
    return "  – " if v is None else f"{v:.2f}"
