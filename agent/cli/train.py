"""`formscout train`: pretrain the ST-GCN on a labelled library, or LoRA-fine-tune it on a team's clips.

  formscout train --data DIR_OR_CSV [--epochs N] [--seed S] [--out model.pt]
      DIR: every labels.csv under DIR (clips found beside each CSV); CSV: that file
      (clips beside it, or --clips DIR). Splits are by athlete; a fifth of the
      athletes are held out to report metrics and fit the temperatures.
  formscout train --refit --base model.pt --data DIR [--out model.pt]
      Refits the out-of-distribution detector and the retrieval metric of a trained checkpoint on
      the training / validation athletes it records (weights unchanged); --data is what it was trained on.
  formscout train --finetune LABELS.csv --clips DIR --lora [--base model.pt] [--out ADAPTER_DIR]
      Adapts the base model with LoRA (peft) and saves only the adapter. LoRA goes on the last
      ST-GCN block and the score head; about 30% of the athletes are held out (inner validation)
      to pick the epoch and to check the adapter against the base model: if it is not better
      there, it is marked rejected and you are told to keep the base model.
      Use it with: formscout eval LABELS.csv --scorer stgcn --adapter ADAPTER_DIR

Training uses the CPU (2 threads by default, --threads to change).
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
from pathlib import Path

from tools.core.errors import InputError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train the ST-GCN (pretrain, or LoRA fine-tune on your clips)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="labelled library: a folder (every labels.csv under it) or one labels CSV")
    p.add_argument("--finetune", metavar="LABELS.csv", help="fine-tune on these labelled clips instead")
    p.add_argument("--clips", help="folder holding <clip_id>.npz skeletons (default: beside the CSV)")
    p.add_argument("--lora", action="store_true", help="fine-tune with LoRA adapters (the only mode offered)")
    p.add_argument("--refit", action="store_true",
                   help="refit the out-of-distribution detector and retrieval metric of --base on --data")
    p.add_argument("--base", help="base checkpoint to fine-tune (default: the committed one)")
    p.add_argument("--out", help="output checkpoint (pretrain, default out/stgcn.pt) or adapter folder "
                                 "(fine-tune, default out/stgcn_lora)")
    p.add_argument("--epochs", type=int, help="training epochs (default 30 pretrain; fine-tune: at most 30, "
                                             "early-stopped on the inner-validation athletes)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="share of athletes held out for metrics and temperature scaling (pretrain, default 0.2)")
    p.add_argument("--rank", type=int, default=4, help="LoRA rank (default 4)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    p.add_argument("--skip-missing", action="store_true", help="train on the clips that exist if some are missing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def find_label_files(data: str) -> list[Path]:
    path = Path(data)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(path.rglob("labels.csv"))
        if not found:
            raise InputError(f"no labels.csv under {path}; generate a library with `formscout synth --out {path}` "
                             "or give the CSV itself")
        return found
    raise InputError(f"--data {data}: no such file or folder")


def load_rows(csv_paths: list[Path], clips: str | None, skip_missing: bool):
    from tools.core.labels import read_labels, resolve_clips
    rows = []
    for csv_path in csv_paths:
        clips_dir = clips or (csv_path.parent / "clips" if (csv_path.parent / "clips").is_dir() else csv_path.parent)
        rows += resolve_clips(read_labels(csv_path), clips_dir, csv_path,
                              on_missing="skip" if skip_missing else "error")
    seen: dict[str, str] = {}
    for r in rows:
        if r.clip_id in seen and seen[r.clip_id] != r.path:
            raise InputError(f"clip id {r.clip_id!r} appears in two libraries ({seen[r.clip_id]} and {r.path}); "
                             "clip ids must be unique across the CSVs you train on")
        seen[r.clip_id] = r.path
    return rows


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (recorded in the checkpoint / adapter)."""
    parts = ["formscout", "train"]
    for key in ("data", "finetune", "clips", "base", "out", "epochs", "seed", "val_fraction", "rank", "threads"):
        value = getattr(args, key, None)
        if value is not None:
            parts += [f"--{key.replace('_', '-')}", str(value)]
    if args.lora:
        parts.append("--lora")
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    """Train with a progress bar on stderr (epochs done of at most --epochs, time left; tools.core.progress)."""
    from agent.cli.progress import ProgressBar
    from tools.core.progress import reporting
    with ProgressBar("epochs", "training", unit="epoch") as bar, reporting(bar):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from tools.scoring.stgcn.train import LoraSettings, TrainConfig, finetune_lora, pretrain
    command = _command(args)
    if args.refit:
        from tools.scoring.stgcn.train import refit_post_hoc
        if not (args.base and args.data):
            raise InputError("--refit needs --base CHECKPOINT and --data (the library it was trained on)")
        rows = load_rows(find_label_files(args.data), args.clips, args.skip_missing)
        out = refit_post_hoc(rows, args.base, args.out or args.base, seed=args.seed)
        print(json.dumps(out, indent=2) if args.json else
              f"refitted the out-of-distribution detector and retrieval metric of {args.base} on {out['n_train']} "
              f"training and {out['n_val']} validation clips -> {out['output']}")
        return 0
    if bool(args.data) == bool(args.finetune):
        raise InputError("give either --data DIR_OR_CSV (pretrain) or --finetune LABELS.csv --clips DIR --lora")
    if args.finetune:
        if not args.lora:
            raise InputError("only LoRA fine-tuning is offered: add --lora (full fine-tuning of a few clips "
                             "would overwrite what the model learnt)")
        from tools.scoring.stgcn.infer import DEFAULT_CHECKPOINT
        rows = load_rows([Path(args.finetune)], args.clips, args.skip_missing)
        settings = LoraSettings(rank=args.rank, alpha=2 * args.rank,
                                **({"epochs": args.epochs, "unchecked_epochs": args.epochs} if args.epochs else {}))
        out = args.out or "out/stgcn_lora"
        _, result = finetune_lora(rows, args.base or DEFAULT_CHECKPOINT, out, settings,
                                  TrainConfig(seed=args.seed, threads=args.threads), command=command)
        verdict = {True: "adopted", False: "REJECTED (keep the base model)", None: "not checked"}[result.adopted]
        what = (f"LoRA adapter (rank {args.rank}, {result.trainable_parameters} trainable parameters; "
                f"{verdict})")
    else:
        csvs = find_label_files(args.data)
        rows = load_rows(csvs, args.clips, args.skip_missing)
        cfg = TrainConfig(seed=args.seed, threads=args.threads, val_fraction=args.val_fraction,
                          **({"epochs": args.epochs} if args.epochs else {}))
        out = args.out or "out/stgcn.pt"
        result = pretrain(rows, out, cfg, command=command,
                          data_note=f"{len(rows)} clips from {', '.join(str(c) for c in csvs)}")
        what = f"checkpoint ({result.n_parameters} parameters)"
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    m = result.metrics
    print(f"saved {what} to {result.output} ({result.size_bytes / 1024:.0f} kB) in {result.seconds:.0f} s")
    print(f"trained on {result.n_train} clips ({len(result.train_athletes)} athletes); "
          f"held out {result.n_val} clips ({len(result.val_athletes)} athletes)")
    if m and "score_exact" in m:
        print(f"held-out: test recognition {m['test_accuracy']:.3f}, side {m['side_accuracy']:.3f}, "
              f"score exact {m['score_exact']}, quadratic kappa {m['score_kappa_quadratic']}")
    for note in result.notes:
        print(f"note: {note}")
    return 0
