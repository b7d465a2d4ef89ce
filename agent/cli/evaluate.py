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
    p.add_argument("--scorer", choices=("rules", "stgcn", "agent"), default="rules",
                   help="what is compared with the physio (default rules)")
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


def make_scorer(args: argparse.Namespace, out_dir: Path):
    from tools.study.scorers import RulesScorer, STGCNEvalScorer
    if args.scorer == "rules":
        return RulesScorer(args.criteria)
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
    scorer = make_scorer(args, out_dir)
    result = cross_validate(rows, scorer, args.cv)
    result.notes.extend(extra_notes)
    summary = summarise(result)
    if human_here is not None:
        summary["human_on_this_data"] = human_here
        summary["notes"].append("experts vs each other on this data (quadratic kappa, mean over pairs): "
                                + ", ".join(f"{t} {v['mean_pairwise_kappa_quadratic']}" for t, v in human_here.items()))
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
    for note in summary["notes"]:
        print(f"  note: {note}")
    return 0


def _f(v) -> str:
    return "  – " if v is None else f"{v:.2f}"
