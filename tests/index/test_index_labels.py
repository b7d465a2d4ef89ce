"""Labels CSV validation: every bad row named, consent refusals listed, nothing half-added."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from index.library.labels import read_labels
from index.library.toy_clips import LABEL_COLUMNS, toy_clip
from tools.core.errors import InputError


def _row(**over) -> dict:
    row = {"clip_id": "c1", "athlete_id": "A1", "date": "2025-03-01", "test_name": "deep_squat", "side": "NA",
           "score": "2", "pain": "false", "compensation_notes": "heels up", "camera_view": "side",
           "consent_on_file": "true"}
    row.update(over)
    return row


def _write(folder: Path, rows: list[dict], extra: tuple[str, ...] = (), skeletons: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "labels.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(LABEL_COLUMNS) + list(extra))
        w.writeheader()
        w.writerows(rows)
    if skeletons:
        rng = np.random.default_rng(0)
        for r in rows:
            if r.get("clip_id") and not (folder / f"{r['clip_id']}.npz").exists():
                test = r["test_name"] if r["test_name"] in ("deep_squat", "hurdle_step") else "deep_squat"
                toy_clip(test, 2, "L", rng).save(folder / f"{r['clip_id']}.npz")
    return path


def test_valid_rows_are_parsed_and_normalised(tmp_path):
    path = _write(tmp_path, [_row(), _row(clip_id="c2", test_name="Hurdle Step", side="left", score="3",
                                         pain="no", camera_view="Front")])
    rows, refused = read_labels(path, tmp_path)
    assert refused == [] and [r.clip_id for r in rows] == ["c1", "c2"]
    r = rows[1]
    assert (r.test_name, r.side, r.score, r.pain, r.camera_view) == ("hurdle_step", "L", 3, False, "front")
    assert r.file == tmp_path / "c2.npz" and r.source_kind == "skeleton" and r.row == 3


@pytest.mark.parametrize("over, field", [
    ({"score": "4"}, "score"),
    ({"score": "two"}, "score"),
    ({"score": "1.5"}, "score"),
    ({"side": "L"}, "side"),                                   # deep squat is scored once
    ({"test_name": "hurdle_step", "side": "NA"}, "side"),      # hurdle step needs L/R
    ({"test_name": "plank"}, "test_name"),
    ({"date": "01/03/2025"}, "date"),
    ({"pain": "maybe"}, "pain"),
    ({"pain": "true", "score": "2"}, "score"),                 # pain means 0
    ({"athlete_id": "../etc"}, "athlete_id"),
    ({"clip_id": "a/b"}, "clip_id"),
    ({"consent_on_file": "perhaps"}, "consent_on_file"),
])
def test_each_bad_field_is_named_with_its_row(tmp_path, over, field):
    path = _write(tmp_path, [_row(clip_id="ok"), _row(**{"clip_id": "c9", **over})], skeletons=False)
    rng = np.random.default_rng(0)
    for cid in ("ok", "c9"):
        toy_clip("deep_squat", 2, "NA", rng).save(tmp_path / f"{cid}.npz")
    with pytest.raises(InputError) as err:
        read_labels(path, tmp_path)
    msg = str(err.value)
    assert f"row 3 {field}" in msg and "nothing was added" in msg and "\n" not in msg


def test_missing_columns_duplicates_and_files(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("clip_id,athlete_id\nc1,A1\n")
    with pytest.raises(InputError, match="lacks column"):
        read_labels(bad, tmp_path)
    path = _write(tmp_path / "d", [_row(), _row(), _row(clip_id="nofile")])
    (tmp_path / "d" / "nofile.npz").unlink()
    with pytest.raises(InputError) as err:
        read_labels(path, tmp_path / "d")
    assert "row 3 clip_id: 'c1' appears twice" in str(err.value)
    assert "row 4 file: no nofile.npz" in str(err.value)
    with pytest.raises(InputError, match="not found"):
        read_labels(tmp_path / "absent.csv", tmp_path)


def test_unreadable_skeleton_and_video_are_rejected(tmp_path):
    path = _write(tmp_path, [_row(clip_id="junk"), _row(clip_id="vid")], skeletons=False)
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip")
    (tmp_path / "vid.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError) as err:
        read_labels(path, tmp_path)
    assert "row 2 file" in str(err.value) and "row 3 file" in str(err.value)


def test_path_column_and_skeleton_preferred_over_video(tmp_path):
    clips = tmp_path / "clips"
    path = _write(clips, [_row(clip_id="c1"), _row(clip_id="c2", path="sub/other.npz")], extra=("path",))
    (clips / "sub").mkdir()
    (clips / "c2.npz").rename(clips / "sub" / "other.npz")
    (clips / "c1.mp4").write_bytes(b"ignored: the skeleton wins")
    rows, _ = read_labels(path, clips)
    assert rows[0].file.name == "c1.npz" and rows[1].file == clips / "sub" / "other.npz"


def test_consent_refusals_are_listed_and_their_files_never_opened(tmp_path):
    rows = [_row(clip_id="yes"),
            _row(clip_id="no", athlete_id="A2", consent_on_file="false"),
            _row(clip_id="kid", athlete_id="A3", minor="true", guardian_consent=""),
            _row(clip_id="kid_ok", athlete_id="A4", minor="true", guardian_consent="yes"),
            _row(clip_id="adult", athlete_id="A5", minor="false", guardian_consent="")]
    path = _write(tmp_path, rows, extra=("minor", "guardian_consent"))
    (tmp_path / "no.npz").write_bytes(b"never read: no consent")  # would be an error if it were opened
    (tmp_path / "kid.npz").unlink()                                   # a missing file is not an error either
    ok, refused = read_labels(path, tmp_path)
    assert [r.clip_id for r in ok] == ["yes", "kid_ok", "adult"]
    assert {(r.clip_id, r.athlete_id) for r in refused} == {("no", "A2"), ("kid", "A3")}
    assert any("guardian" in r.reason for r in refused)
    assert ok[1].minor is True and ok[1].guardian_consent is True
