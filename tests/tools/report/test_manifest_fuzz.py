"""Property-based tests of the session manifest reader (tools.report.manifest): whatever the CSV holds,
the answer is checked rows or one InputError of one line, never a traceback.

Generated manifests mix real clip files and missing ones (absolute, relative, found only through
--clips), valid and broken cells (quotes, newlines, unicode, huge cells, NaN hand lengths), a BOM,
CRLF, unknown or missing columns, other encodings and plain random bytes.
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

from index.library.toy_clips import toy_clip
from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS
from tools.report.manifest import KNOWN, read_manifest

N_EXAMPLES = int(os.environ.get("FORMSCOUT_FUZZ_EXAMPLES", "60"))   # benchmarks/bench_bad_inputs.py runs many more
EXAMPLES = settings(max_examples=N_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
junk = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
CLIPS = ("a.npz", "sub/b.npz", "only_in_clips.npz")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("manifest_fuzz")


def _folder(scratch: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    rng = np.random.default_rng(0)
    for name in CLIPS[:2]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        toy_clip("deep_squat", 2, "NA", rng).save(folder / name)
    other = folder.with_name(folder.name + "_clips")     # outside the manifest's folder: found via --clips only
    other.mkdir()
    toy_clip("deep_squat", 2, "NA", rng).save(other / CLIPS[2])
    (folder / "notes.txt").write_text("not a clip")
    return folder


cells = {
    "clip": st.one_of(st.sampled_from(CLIPS + ("missing.npz", "notes.txt", "", "/abs/none.mp4")), junk),
    "test": st.one_of(st.sampled_from(TESTS), st.sampled_from(["Deep_Squat", "plank", ""]), junk),
    "side": st.sampled_from(["L", "R", "NA", "", "left", "x"]),
    "pain": st.sampled_from(["", "yes", "no", "maybe", "1"]),
    "clearing_pain": st.sampled_from(["", "yes", "no", "2"]),
    "heels_raised": st.sampled_from(["", "yes", "no", "?"]),
    "hand_length_m": st.sampled_from(["", "0.19", "19", "nan", "inf", "-0.2", "abc", "1e400"]),
}


@st.composite
def manifests(draw) -> bytes:
    columns = [c for c in draw(st.permutations(list(KNOWN))) if c in ("clip", "test") or draw(st.booleans())]
    if draw(st.integers(0, 5)) == 0:
        columns.append(draw(st.sampled_from(["athlete", "Clip", "extra", ""])))
    rows = [[draw(cells.get(c, junk)) for c in columns] for _ in range(draw(st.integers(0, 6)))]
    if rows and draw(st.integers(0, 9)) == 0:
        rows[0][-1] = "z" * 140_000
    buf = io.StringIO()
    csv.writer(buf, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
               lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([columns] + rows)
    text = ("\ufeff" if draw(st.booleans()) else "") + buf.getvalue()
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1"])), errors="replace")


def _read(scratch: Path, data: bytes, with_clips: bool):
    folder = _folder(scratch)
    path = folder / "manifest.csv"
    path.write_bytes(data)
    try:
        rows = read_manifest(path, clips_dir=folder.with_name(folder.name + "_clips") if with_clips else None)
    except InputError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and "\r" not in msg, msg[:300]
        return None
    for r in rows:
        assert Path(r.clip).is_file() and r.test in TESTS
        assert r.side in (None, "L", "R") if r.test in BILATERAL else r.side == "NA"
        assert r.hand_length_m is None or 0.10 <= r.hand_length_m <= 0.30
    return rows


@EXAMPLES
@given(data=manifests(), with_clips=st.booleans())
def test_manifest_gives_checked_rows_or_one_input_error(scratch, data, with_clips):
    _read(scratch, data, with_clips)


@EXAMPLES
@given(data=st.binary(max_size=2000))
def test_random_bytes_never_escape_as_a_traceback(scratch, data):
    _read(scratch, data, False)


def test_a_clip_found_only_through_clips_dir(scratch):
    data = b"clip,test\nonly_in_clips.npz,deep_squat\n"
    assert _read(scratch, data, False) is None          # not beside the manifest: one clear error
    rows = _read(scratch, data, True)
    assert rows and Path(rows[0].clip).parent.name.endswith("_clips")


def test_a_home_folder_of_nobody_is_a_missing_file_not_a_crash(scratch):
    """Found by the fuzzing: '~0' asks for the home folder of a user that does not exist."""
    assert _read(scratch, b"clip,test\n~0/a.npz,deep_squat\n", True) is None
