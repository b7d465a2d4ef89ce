"""A whole-screen recording split into its tests: which test each stretch is, and where each split falls.

1. Windows (`window_s` long, every `hop_s`): the rule-based test recogniser
   (tools.scoring.rubric.recognize: posture and motion features, a soft score
   per test) scores every window; a window's score per test is then the
   highest within `dilate_s`, so the rest between two repetitions of a test
   still reads as that test.
2. Decoding (Viterbi): with the physio's order (the manifest), a
   left-to-right chain test 1 -> transition -> test 2 -> ...; a test missing
   from the recording may be skipped at a cost. Without an order, any test
   may follow any other (a switch costs `switch_cost`); runs of one test
   broken only by short stretches of nothing are one test, runs shorter than
   `min_segment_s` are dropped.
3. Split points: between two tests A and B, each test's own repetitions are
   found near the boundary (tools.geometry.repetitions) and the split is put
   half-way between A's last repetition and B's first; where they cannot be
   told apart, at the decoded boundary.
4. Each test's clip is its stretch between split points, trimmed to `pad_s`
   of rest before its first repetition and after its last (the rules read the
   set-up pose from the first 0.3 s of a clip, which must not be the walk
   from the previous test).

Frames are the skeleton's (0-based); times are seconds from its start.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.ndimage import maximum_filter1d

from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS
from tools.core.skeleton import Skeleton

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitConfig:
    """Splitting settings (documented defaults; override with dataclasses.replace on a copy)."""

    window_s: float = 4.0
    hop_s: float = 1.0
    dilate_s: float = 3.0
    floor: float = 0.02             # emission floor: log(floor + score)
    background: float = 0.12        # the "between tests" state's score
    switch_cost: float = 4.0        # log-cost of a change of state
    skip_cost: float = 8.0          # extra log-cost of skipping a test of the physio's order
    merge_gap_s: float = 12.0       # free decoding: one test's runs this close are one test
    min_segment_s: float = 5.0
    refine_s: float = 8.0           # how far from the decoded boundary its repetitions are looked for
    pad_s: float = 1.0
    min_window_score: float = 0.25  # a test segment scoring lower than this is marked uncertain

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TestSegment:
    """One test inside the recording: its stretch (between split points) and its clip (trimmed)."""

    index: int
    test: str
    start_frame: int                 # stretch [start_frame, end_frame)
    end_frame: int
    clip_start: int                  # the test's clip [clip_start, clip_end)
    clip_end: int
    score: float                     # mean recogniser score of its windows
    uncertain: bool
    sides: list[str] = field(default_factory=list)        # sides the order expects (L, R), [] = detect
    order_rows: list[int] = field(default_factory=list)   # which entries of the physio's order it is
    n_repetitions: int = 0
    repetitions: list[list[int]] = field(default_factory=list)   # [start, end] frames of each one found
    source: str = "recognised"       # recognised | physio (corrected by hand)

    def to_dict(self, fps: float) -> dict:
        d = asdict(self)
        d.update(start_s=round(self.start_frame / fps, 2), end_s=round(self.end_frame / fps, 2),
                 clip_start_s=round(self.clip_start / fps, 2), clip_end_s=round(self.clip_end / fps, 2),
                 score=round(float(self.score), 3))
        return d


@dataclass
class SplitPoint:
    """Where one test ends and the next begins."""

    frame: int
    before: str
    after: str
    refined: bool                    # placed between the two tests' repetitions (else at the decoded boundary)
    gap_frames: int | None           # frames between the last repetition before and the first after

    def to_dict(self, fps: float) -> dict:
        return {**asdict(self), "time_s": round(self.frame / fps, 2),
                "gap_s": None if self.gap_frames is None else round(self.gap_frames / fps, 2)}


@dataclass
class RecordingSplit:
    fps: float
    n_frames: int
    segments: list[TestSegment]
    split_points: list[SplitPoint]
    mode: str                        # order (the physio's) | free
    order: list[str]
    missing: list[str]               # tests of the order not found in the recording
    window_centres: list[int]
    window_scores: list[list[float]]  # [W][7] in TESTS order, dilated
    config: SplitConfig = field(default_factory=SplitConfig)

    def to_dict(self) -> dict:
        return {"fps": self.fps, "n_frames": self.n_frames, "duration_s": round(self.n_frames / self.fps, 2),
                "mode": self.mode, "order": list(self.order), "missing": list(self.missing),
                "segments": [s.to_dict(self.fps) for s in self.segments],
                "split_points": [p.to_dict(self.fps) for p in self.split_points],
                "windows": {"centres": self.window_centres, "tests": list(TESTS),
                            "scores": [[round(v, 3) for v in row] for row in self.window_scores]},
                "config": self.config.to_dict(),
                "method": "rule-based test recogniser on windows, Viterbi decoding, split between repetitions"}


# ----- 1. windows ------------------------------------------------------------------------------------------

def _slice(skel: Skeleton, a: int, b: int) -> Skeleton:
    return skel.replace(xyz=skel.xyz[a:b], conf=skel.conf[a:b], uv=None if skel.uv is None else skel.uv[a:b])


def window_scores(skel: Skeleton, config: SplitConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(window centre frames [W], recogniser scores [W, 7] in TESTS order, dilated over `dilate_s`)."""
    from tools.scoring.rubric.recognize import features, test_scores
    cfg = config or SplitConfig()
    win = max(2, int(round(cfg.window_s * skel.fps)))
    hop = max(1, int(round(cfg.hop_s * skel.fps)))
    starts = list(range(0, max(1, skel.n_frames - win + 1), hop))
    centres, rows = [], []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for a in starts:
            sc = test_scores(features(_slice(skel, a, min(skel.n_frames, a + win))))
            rows.append([float(sc[t]) for t in TESTS])
            centres.append(a + win // 2)
    scores = np.asarray(rows, dtype=float)
    k = max(1, int(round(cfg.dilate_s / cfg.hop_s))) * 2 + 1
    return np.asarray(centres), maximum_filter1d(scores, size=k, axis=0, mode="nearest")


# ----- 2. decoding ---------------------------------------------------------------------------------------

def _viterbi(emit: np.ndarray, trans: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Most likely state path. emit [W, S] log, trans [S, S] log (from, to), start [S] log."""
    W, S = emit.shape
    score = start + emit[0]
    back = np.zeros((W, S), dtype=int)
    for w in range(1, W):
        cand = score[:, None] + trans
        back[w] = np.argmax(cand, axis=0)
        score = cand[back[w], np.arange(S)] + emit[w]
    path = np.zeros(W, dtype=int)
    path[-1] = int(np.argmax(score))
    for w in range(W - 1, 0, -1):
        path[w - 1] = back[w, path[w]]
    return path


def decode_ordered(scores: np.ndarray, order: list[str], cfg: SplitConfig) -> np.ndarray:
    """Per window: the index into `order` of its test, or -1 between tests (left-to-right chain)."""
    k = len(order)
    S = 2 * k + 1                      # 0 = before the first test; 2i+1 = test i; 2i+2 = after test i
    emit = np.empty((scores.shape[0], S))
    emit[:, 0::2] = np.log(cfg.floor + cfg.background)
    for i, test in enumerate(order):
        emit[:, 2 * i + 1] = np.log(cfg.floor + scores[:, TESTS.index(test)])
    trans = np.full((S, S), -np.inf)
    for s in range(S):
        trans[s, s] = 0.0
    for i in range(k):
        t, after = 2 * i + 1, 2 * i + 2
        trans[t - 1, t] = -cfg.switch_cost / 2            # between -> test i
        trans[t, after] = -cfg.switch_cost / 2            # test i -> between
        if i + 1 < k:
            trans[t, t + 2] = -cfg.switch_cost            # test i -> test i+1 directly
        for j in range(i + 1, k):                         # skip tests i+1 .. j-1 (not in the recording)
            trans[t - 1, 2 * j + 1] = -cfg.switch_cost / 2 - cfg.skip_cost * (j - i)
    trans[S - 1, S - 1] = 0.0
    start = np.full(S, -np.inf)
    start[0] = 0.0
    for i in range(k):
        start[2 * i + 1] = -cfg.skip_cost * i
    path = _viterbi(emit, trans, start)
    return np.where(path % 2 == 1, (path - 1) // 2, -1)


def decode_free(scores: np.ndarray, cfg: SplitConfig) -> np.ndarray:
    """Per window: the index into TESTS of its test, or -1 (any test may follow any other)."""
    S = len(TESTS) + 1                 # last = between tests
    emit = np.concatenate([np.log(cfg.floor + scores), np.full((scores.shape[0], 1),
                                                                np.log(cfg.floor + cfg.background))], axis=1)
    trans = np.full((S, S), -cfg.switch_cost)
    trans[:, -1] = trans[-1, :] = -cfg.switch_cost / 2
    np.fill_diagonal(trans, 0.0)
    start = np.zeros(S)
    path = _viterbi(emit, trans, start)
    return np.where(path < len(TESTS), path, -1)


def _runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(label, first window, one past the last window) for each run of one label."""
    out, a = [], 0
    for w in range(1, len(labels) + 1):
        if w == len(labels) or labels[w] != labels[a]:
            out.append((int(labels[a]), a, w))
            a = w
    return out


# ----- 3. split points --------------------------------------------------------------------------------------

def _reps(skel: Skeleton, test: str, a: int, b: int) -> list:
    from tools.geometry.repetitions import segment_repetitions
    if b - a < int(2 * skel.fps):
        return []
    seg = segment_repetitions(_slice(skel, a, b), test)
    return [(r.start_frame + a, r.end_frame + a) for r in seg.repetitions if not r.partial]


def split_recording(skel: Skeleton, order: list[tuple[str, list[str], list[int]]] | None = None,
                    config: SplitConfig | None = None) -> RecordingSplit:
    """Split a whole-screen recording into tests (module docstring).

    `order`: the physio's manifest as (test, sides, manifest rows) in filming order (consecutive rows of
    one test merged), or None to recognise any order.
    """
    cfg = config or SplitConfig()
    if skel.n_frames < int(cfg.window_s * skel.fps):
        raise InputError(f"the recording is {skel.duration_s:.1f} s long; a whole screen needs minutes "
                         f"(at least {cfg.window_s:.0f} s): give it to `formscout screen` as one clip instead")
    centres, scores = window_scores(skel, cfg)
    hop = int(round(cfg.hop_s * skel.fps))
    if order:
        tests = [t for t, _, _ in order]
        labels = decode_ordered(scores, tests, cfg)
        runs = [(tests[i], i, a, b) for i, a, b in ((lab, a, b) for lab, a, b in _runs(labels)) if i >= 0]
        mode = "order"
    else:
        labels = decode_free(scores, cfg)
        runs = [(TESTS[lab], lab, a, b) for lab, a, b in _runs(labels) if lab >= 0]
        runs = _merge_free(runs, cfg, hop, skel.fps)
        mode = "free"
        tests = [t for t, _, _, _ in runs]
    if not runs:
        raise InputError("no FMS test could be recognised anywhere in the recording; check that it shows "
                         "the athlete doing the screen, or split it by hand")
    # windows -> frames: a run covers its windows' centres, boundaries half-way between runs
    bounds = []
    for k in range(len(runs) - 1):
        last_c = int(centres[runs[k][3] - 1])
        first_c = int(centres[runs[k + 1][2]])
        bounds.append((last_c + first_c) // 2)
    points = []
    reach = int(round(cfg.refine_s * skel.fps))
    for k, b in enumerate(bounds):
        lo = int(centres[runs[k][2]]) if k == 0 else bounds[k - 1]
        hi = int(centres[runs[k + 1][3] - 1]) if k + 1 == len(bounds) else bounds[k + 1]
        before = [e for s, e in _reps(skel, runs[k][0], max(lo, b - reach - int(cfg.window_s * skel.fps)), b + reach)
                  if e <= b + reach // 2]
        after = [s for s, e in _reps(skel, runs[k + 1][0], b - reach, min(hi, b + reach + int(cfg.window_s * skel.fps)))
                 if s >= b - reach // 2]
        last_end = max(before) if before else None
        first_start = min(after) if after else None
        if last_end is not None and first_start is not None and last_end < first_start:
            points.append(SplitPoint((last_end + first_start) // 2, runs[k][0], runs[k + 1][0], True,
                                     first_start - last_end))
        else:
            points.append(SplitPoint(b, runs[k][0], runs[k + 1][0], False, None))
    edges = [0] + [p.frame for p in points] + [skel.n_frames]
    segments = []
    for k, (test, idx, a, b) in enumerate(runs):
        start, end = edges[k], edges[k + 1]
        reps = _reps(skel, test, start, end)
        pad = int(round(cfg.pad_s * skel.fps))
        clip_start = max(start, min(s for s, _ in reps) - pad) if reps else start
        clip_end = min(end, max(e for _, e in reps) + pad + 1) if reps else end
        score = float(np.mean(scores[a:b, TESTS.index(test)]))
        sides, rows = ([], [])
        if order:
            sides, rows = list(order[idx][1]), list(order[idx][2])
        segments.append(TestSegment(index=k + 1, test=test, start_frame=int(start), end_frame=int(end),
                                    clip_start=int(clip_start), clip_end=int(clip_end), score=score,
                                    uncertain=score < cfg.min_window_score, sides=sides, order_rows=rows,
                                    n_repetitions=len(reps), repetitions=[[int(s), int(e)] for s, e in reps]))
    found = {s.test for s in segments}
    missing = [t for t in (tests if order else []) if t not in found]
    log.info("split_recording: %d tests (%s), %d split points, mode %s", len(segments),
             ", ".join(s.test for s in segments), len(points), mode)
    return RecordingSplit(fps=skel.fps, n_frames=skel.n_frames, segments=segments, split_points=points, mode=mode,
                          order=tests, missing=missing, window_centres=[int(c) for c in centres],
                          window_scores=scores.tolist(), config=cfg)


def _merge_free(runs: list, cfg: SplitConfig, hop: int, fps: float) -> list:
    """Free decoding: one test's runs close together are one; runs shorter than min_segment_s are dropped."""
    gap = cfg.merge_gap_s / cfg.hop_s
    merged: list = []
    for r in runs:
        if merged and merged[-1][0] == r[0] and r[2] - merged[-1][3] <= gap:
            merged[-1] = (r[0], r[1], merged[-1][2], r[3])
        else:
            merged.append(r)
    keep = [r for r in merged if (r[3] - r[2]) * cfg.hop_s >= cfg.min_segment_s]
    out: list = []
    for r in keep:                        # merging again after dropping short interruptions
        if out and out[-1][0] == r[0]:
            out[-1] = (r[0], r[1], out[-1][2], r[3])
        else:
            out.append(r)
    return out


def order_from_rows(rows: list[tuple[str, str | None]]) -> list[tuple[str, list[str], list[int]]]:
    """The physio's manifest rows (test, side) -> the filming order, consecutive rows of one test merged."""
    out: list[tuple[str, list[str], list[int]]] = []
    for i, (test, side) in enumerate(rows):
        if test not in TESTS:
            raise InputError(f"unknown test {test!r} in the order; use one of {', '.join(TESTS)}")
        if out and out[-1][0] == test:
            if side:
                out[-1][1].append(side)
            out[-1][2].append(i)
        else:
            out.append((test, [side] if side and test in BILATERAL else [], [i]))
    return out
