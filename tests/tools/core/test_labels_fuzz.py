"""Property-based tests of the labels CSV reader (tools.core.labels) and the library's checks on it
(index.library.labels): whatever the file holds, the answer is rows or one InputError of one line.

Generated files mix valid and broken cells: quotes, commas and newlines inside cells, a byte-order
mark, CRLF, extra and missing columns, huge cells, NaN/inf scores, control characters, and whole
files in other encodings or plain random bytes. benchmarks/bench_bad_inputs.py runs the same
properties with many more examples and prints the counts.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.library.labels import check_labels
from index.library.toy_clips import toy_clip
from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS
from tools.core.labels import ALL_COLUMNS, read_labels

N_EXAMPLES = int(os.environ.get("FORMSCOUT_FUZZ_EXAMPLES", "60"))   # benchmarks/bench_bad_inputs.py runs many more
EXAMPLES = settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

junk_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
cells = {
    "clip_id": st.one_of(st.from_regex(r"c[0-9]{1,3}", fullmatch=True), junk_text, st.just("")),
    "athlete_id": st.one_of(st.from_regex(r"A[0-9]{1,2}", fullmatch=True), junk_text),
    "date": st.one_of(st.just("2025-03-01"), st.just("01/03/2025"), junk_text),
    "test_name": st.one_of(st.sampled_from(TESTS), st.sampled_from(["Deep Squat", "hurdle-step", "plank"]), junk_text),
    "side": st.sampled_from(["L", "R", "NA", "left", "", "x", "N/A"]),
    "score": st.one_of(st.sampled_from(["0", "1", "2", "3", "2.0", "4", "-1", "1.5", "nan", "inf", "1e309", ""]),
                       junk_text),
    "pain": st.sampled_from(["true", "false", "yes", "no", "1", "0", "", "maybe"]),
    "compensation_notes": st.one_of(junk_text, st.text(max_size=3).map(lambda t: t + '"\n,"' + t)),
    "camera_view": st.sampled_from(["side", "front", "", "Side"]),
    "consent_on_file": st.sampled_from(["true", "false", "", "perhaps", "TRUE"]),
}


@st.composite
def label_files(draw) -> bytes:
    """A labels CSV as bytes: some of the columns, in any order, plus maybe extra ones, written with a random
    csv dialect, maybe a BOM, maybe an over-long cell, maybe re-encoded."""
    columns = draw(st.permutations(list(ALL_COLUMNS)))
    columns = [c for c in columns if draw(st.booleans()) or c in ("clip_id", "test_name")]
    columns += draw(st.lists(st.sampled_from(["path", "minor", "guardian_consent", "extra", ""]), max_size=2,
                             unique=True))
    n = draw(st.integers(0, 6))
    rows = [[draw(cells[c]) if c in cells else draw(junk_text) for c in columns] for _ in range(n)]
    if rows and draw(st.integers(0, 9)) == 0:
        rows[0][0] = "x" * draw(st.sampled_from([1000, 140_000]))      # over the csv module's 128 kB cell limit
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
                        lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    writer.writerows(rows)
    text = ("\ufeff" if draw(st.booleans()) else "") + buf.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


def _one_line_input_error(exc: InputError) -> None:
    msg = str(exc)
    assert msg and "\n" not in msg and "\r" not in msg, msg[:300]


def _check_reader_rows(rows) -> None:
    for r in rows:
        assert r.test_name in TESTS and 0 <= r.score <= 3
        assert (r.side in ("L", "R")) if r.test_name in BILATERAL else r.side == "NA"
    assert len({r.clip_id for r in rows}) == len(rows)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("labels_fuzz")


def _write(data: bytes, scratch: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    path = folder / "labels.csv"
    path.write_bytes(data)
    return path


@EXAMPLES
@given(label_files())
def test_eval_reader_gives_valid_rows_or_one_input_error(scratch, data):
    path = _write(data, scratch)
    try:
        _check_reader_rows(read_labels(path))
    except InputError as exc:
        _one_line_input_error(exc)


@EXAMPLES
@given(label_files())
def test_library_check_gives_every_row_a_fate_or_one_input_error(scratch, data):
    path = _write(data, scratch)
    try:
        check = check_labels(path, path.parent)
    except InputError as exc:
        _one_line_input_error(exc)
        return
    lines = {r.row for r in check.rows} | {r.row for r in check.refused} | set(check.invalid_rows())
    assert len(lines) == check.n_rows                  # every row has exactly one fate
    assert not ({r.row for r in check.rows} & set(check.invalid_rows()))
    _one_line_input_error(InputError(check.message()))


@EXAMPLES
@given(st.binary(max_size=3000))
def test_random_bytes_never_escape_as_a_traceback(scratch, data):
    path = _write(data, scratch)
    for read in (read_labels, lambda p: check_labels(p, p.parent)):
        try:
            read(path)
        except InputError as exc:
            _one_line_input_error(exc)


@st.composite
def valid_rows(draw) -> list[dict]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        test = draw(st.sampled_from(TESTS))
        side = draw(st.sampled_from(["L", "R"])) if test in BILATERAL else "NA"
        pain = draw(st.booleans())
        out.append({"clip_id": f"c{i}", "athlete_id": f"A{draw(st.integers(0, 3))}", "date": "2025-03-01",
                    "test_name": test, "side": side, "score": "0" if pain else str(draw(st.integers(0, 3))),
                    "pain": "true" if pain else "false",
                    "compensation_notes": draw(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
                                                       max_size=30)),
                    "camera_view": "side", "consent_on_file": "true"})
    return out


@settings(max_examples=max(10, N_EXAMPLES // 2), deadline=None)
@given(rows=valid_rows(), bom=st.booleans(), quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
       crlf=st.booleans())
def test_valid_files_round_trip_in_any_dialect(scratch, rows, bom, quoting, crlf):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(ALL_COLUMNS), quoting=quoting, lineterminator="\r\n" if crlf else "\n")
    w.writeheader()
    w.writerows(rows)
    path = _write((("\ufeff" if bom else "") + buf.getvalue()).encode("utf-8"), scratch)
    rng = np.random.default_rng(0)
    for r in rows:
        toy_clip("deep_squat", 2, "NA", rng).save(path.parent / f"{r['clip_id']}.npz")
    got = read_labels(path)
    assert [(r.clip_id, r.test_name, r.side, r.score, r.compensation_notes.strip()) for r in got] == \
           [(r["clip_id"], r["test_name"], r["side"], int(r["score"]), r["compensation_notes"].strip()) for r in rows]
    check = check_labels(path, path.parent)
    assert not check.invalid and [r.clip_id for r in check.rows] == [r["clip_id"] for r in rows]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_other_encodings_are_one_clear_error(scratch, encoding):
    path = _write(("clip_id,athlete_id,test_name,side,score\nc1,A1,deep_squat,NA,2\n").encode(encoding), scratch)
    with pytest.raises(InputError, match="not a readable UTF-8 CSV|NUL bytes"):
        read_labels(path)


def test_a_huge_cell_is_one_clear_error_and_a_large_note_is_fine(scratch):
    header = "clip_id,athlete_id,test_name,side,score,compensation_notes\n"
    ok = _write((header + "c1,A1,deep_squat,NA,2," + "n" * 100_000 + "\n").encode(), scratch)
    assert read_labels(ok)[0].compensation_notes == "n" * 100_000
    huge = _write((header + "c1,A1,deep_squat,NA,2," + "n" * 200_000 + "\n").encode(), scratch)
    with pytest.raises(InputError, match="not a readable UTF-8 CSV"):
        read_labels(huge)


@pytest.mark.parametrize("score", ["inf", "-inf", "nan", "1e309"])
def test_non_finite_scores_are_named_not_a_crash(scratch, score):
    path = _write(f"clip_id,athlete_id,test_name,side,score\nc1,A1,deep_squat,NA,{score}\n".encode(), scratch)
    with pytest.raises(InputError, match="is not a whole number 0-3"):
        read_labels(path)


def test_a_path_column_naming_a_home_folder_of_nobody_is_an_invalid_row(scratch):
    path = _write(b"clip_id,athlete_id,date,test_name,side,score,pain,compensation_notes,camera_view,"
                  b"consent_on_file,path\nc1,A1,2025-01-01,deep_squat,NA,2,false,,side,true,~0/c1.npz\n", scratch)
    check = check_labels(path, path.parent)
    assert [p.field for p in check.invalid] == ["file"]
