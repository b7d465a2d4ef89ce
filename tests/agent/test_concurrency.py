"""Many commands at once on one library and one run root (tests/concurrency_scenarios.py).

Default suite: a few processes adding, searching and erasing in one catalog at once, with the
catalog lock keeping DuckDB's one-writer rule out of sight (a few seconds). Slow: the full stress
test, N = 8 screens of 8 different clips started together (the same second, the same default run
root, each filing its run) while `index add` and `index erase` run: every verdict holds its own
clip's hash, every run folder verifies, `index verify` is clean, no exception.
"""
from __future__ import annotations

import json

import pytest

from tests.concurrency_scenarios import catalog_state, formscout, run, toy_library


def test_adds_searches_and_an_erase_at_once_share_one_catalog(tmp_path):
    labels = [toy_library(tmp_path / f"l{i}", f"P{i}", [f"ATH-P{i}"], seed=i) for i in range(3)]
    assert run(["index", "add", str(labels[0]), "--clips", str(labels[0].parent)], tmp_path).returncode == 0
    query = next(labels[0].parent.glob("*.npz"))
    procs = [formscout(["index", "add", str(lab), "--clips", str(lab.parent), "--batch-size", "4", "--json"], tmp_path)
             for lab in labels[1:]]
    procs += [formscout(["index", "search", str(query), "-k", "3", "--json"], tmp_path) for _ in range(2)]
    procs.append(formscout(["index", "erase", "--athlete", "ATH-P0", "--json"], tmp_path))
    outs = [p.communicate(timeout=600) + (p.returncode,) for p in procs]
    assert [rc for _, _, rc in outs] == [0] * len(procs), [err[-400:] for _, err, _ in outs]
    assert not any("Traceback" in err for _, err, _ in outs)
    assert all(json.loads(out)["counts"]["added"] == 12 for out, _, _ in outs[:2])
    state = catalog_state(tmp_path)
    assert {c.split("-")[0] for c in state["clips"]} == {"P1", "P2"}     # P0 erased, P1 and P2 whole
    verify = run(["index", "verify", "--json"], tmp_path)
    assert verify.returncode == 0 and json.loads(verify.stdout)["clean"]


@pytest.mark.slow
def test_eight_parallel_screens_with_an_add_and_an_erase(tmp_path):
    from tests.concurrency_scenarios import stress
    result = stress(tmp_path, n=8)
    assert result.passed, result.to_dict()
