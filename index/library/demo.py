"""Seed a small demo library of synthetic athletes, so retrieval has neighbours on a fresh machine.

`seed_demo_library(db, n_per_test, seed)` writes synthetic clips (.npz
skeletons + labels.csv) into a temporary folder and adds them through the same
`Library.add_labels` path real clips take (validation, consent, embedding,
crash-safe commit). Every athlete id starts with "SYN-" and the catalog marks
them `synthetic`, so a demo clip is never mistaken for a real athlete's;
`formscout index erase --athlete SYN-...` removes them like any other.

Clip source, per test: tools.synth (`make_sample` + `truth_skeleton`, the
project's synthetic generator) when it has a generator for that test, else
index.library.toy_clips (a small stand-in rig). The rubric passages are indexed too
when knowledge.passages is installed. Seeding again with the same seed is a
no-op (idempotent add).
"""
from __future__ import annotations

import csv
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from index.library.api import Library
from index.library.toy_clips import LABEL_COLUMNS, toy_clip
from tools.core.fms import BILATERAL, TESTS

log = logging.getLogger(__name__)

Generator = Callable[[Path, int, int], Path]  # (out folder, clips per test and side, seed) -> labels.csv


def _synth_sample(test: str, side: str, seed: int):
    """(skeleton, label row fields) from tools.synth, or None when it has no generator for `test`."""
    try:
        from tools.synth.library import make_sample, test_module, truth_skeleton
        test_module(test)
    except ImportError:
        return None
    sample = make_sample(test, seed=seed, side=side)
    return truth_skeleton(sample), {
        "athlete_id": sample.athlete.athlete_id, "score": sample.label.score,
        "pain": "true" if sample.label.pain else "false",
        "compensation_notes": f"synthetic (tools.synth): {sample.label.compensation_notes()}"}


def write_demo_clips(out: Path, n_per_test: int, seed: int) -> Path:
    """Write `n_per_test` synthetic clips per test and side to `out`; returns labels.csv."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for test in TESTS:
        for side in (("L", "R") if test in BILATERAL else ("NA",)):
            for i in range(n_per_test):
                clip_seed = seed * 100_000 + TESTS.index(test) * 1000 + i
                clip_id = f"SYN-demo-{test}-{side}-{seed}-{i:03d}"
                made = _synth_sample(test, side, clip_seed)
                if made is None:
                    score = int(rng.integers(1, 4))
                    skel = toy_clip(test, score, side, rng)
                    fields = {"athlete_id": f"SYN-toy{clip_seed % 10000:04d}", "score": score, "pain": "false",
                              "compensation_notes": "synthetic (index.library.toy_clips stand-in)"}
                else:
                    skel, fields = made
                skel.save(out / f"{clip_id}.npz")
                rows.append({"clip_id": clip_id, "date": "2025-01-01", "test_name": test, "side": side,
                             "camera_view": "side", "consent_on_file": "true", **fields})
    path = out / "labels.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LABEL_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def seed_demo_library(db: str | os.PathLike | None = None, n_per_test: int = 4, seed: int = 0,
                      generator: Generator | None = None, index_passages: bool = True) -> dict:
    """Add a small synthetic library (SYN- athletes) to `db`; returns the add summary as a dict.

    `generator(out_dir, n_per_test, seed) -> labels.csv` replaces the default
    clip source (write_demo_clips). With `index_passages` the rubric passages
    of knowledge/ are indexed too (loads the text embedder).
    """
    make = generator or write_demo_clips
    with tempfile.TemporaryDirectory(prefix="formscout-demo-") as tmp, Library(db) as lib:
        labels = make(Path(tmp), n_per_test, seed)
        summary = lib.add_labels(labels, tmp).to_dict()
        if not index_passages:
            return summary
        try:
            from knowledge.passages import load_passages
        except ImportError:
            summary["passages"] = "knowledge.passages not installed: rubric passages not indexed"
        else:
            summary["passages"] = lib.sync_passages(load_passages())
    log.info("demo library: %s", summary["counts"])
    return summary
