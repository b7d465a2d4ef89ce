"""Multi-repetition synthetic clips, as physios film them, with the truth per repetition.

One athlete does several repetitions of one FMS test in one take: a varying
count (1-3 per side), pauses between them, one failed repetition among good
ones, both sides in one clip (left repetitions, then right), the protocol's
fallback variants (deep squat on the 2x6 board after a failed flat-heel
repetition, push-up at the lower hand position after a failed one at the
higher, rotary stability diagonal after a failed unilateral), a partial
(aborted) repetition, a repetition of another movement (a lunge inside a squat
clip), and a stand-up between repetitions. Each repetition comes from the
test's own generator (tools/synth/<test>.py `sample_knobs` / `label` /
`generate`, unchanged); this module only plans, joins and labels them.

Joining: consecutive repetitions are blended with a minimum-jerk cross-fade of
every joint (0.3-0.6 s, the athlete resetting the feet), pauses hold the rest
pose with postural sway, a stand-up blends to the athlete's neutral standing
pose (the shoulder-mobility start: arms hanging), holds it and blends back. A
partial repetition replays the first `partial_share` of the way into the
movement and back (frames of the full repetition, so bone lengths stay exact).

Truth per repetition (`RepTruth`): side, kind (full / partial / other), the
score its knobs imply on their own, the variant (heels raised, hand level,
pattern), whether it decides the test by itself (`decided`: a failed flat-heel
squat, a failed push-up at the score-3 hand position or a failed unilateral
rotary repetition does not), and its start / bottom / end frames: start = the
first frame of the movement phase, end = the first frame of the final rest,
bottom = the middle of the hold phase (hurdle step: the highest lift). The
protocol's score per side (`truth_scores`) is the best counting repetition's.
Frames: body frame as every generator (x = athlete's left, y up, z facing),
placed once per clip by the style's facing and offset.
"""
from __future__ import annotations

import inspect
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from tools.core.errors import InputError
from tools.core.fms import BILATERAL, TESTS
from tools.synth.body import Athlete, make_athlete
from tools.synth.rig import Motion
from tools.synth.timing import min_jerk, sway

log = logging.getLogger(__name__)

# per test: (event that starts the movement, event(s) whose middle is the bottom, event where rest resumes)
KEY_EVENTS: dict[str, tuple[str, tuple[str, str], str]] = {
    "deep_squat": ("descent", ("bottom", "ascent"), "finish"),
    "hurdle_step": ("step_over", ("highest_lift", "highest_lift"), "finish"),
    "inline_lunge": ("descent", ("bottom", "ascent"), "finish"),
    "shoulder_mobility": ("reach", ("hold", "release"), "finish"),
    "active_straight_leg_raise": ("raise", ("top", "lower"), "finish"),
    "trunk_stability_pushup": ("push", ("top", "lower"), "finish"),
    "rotary_stability": ("extend", ("touch", "extend_again"), "finish"),
}
# the event where the movement reaches its deepest point (a partial repetition turns back before it)
HOLD_EVENT = {"deep_squat": "bottom", "hurdle_step": "touch_down", "inline_lunge": "bottom",
              "shoulder_mobility": "hold", "active_straight_leg_raise": "top", "trunk_stability_pushup": "top",
              "rotary_stability": "reach_hold"}
# protocol variants: test -> {variant name: knob overrides}; the first is the score-3 variant
VARIANTS: dict[str, dict[str, dict]] = {
    "deep_squat": {"flat": {"heel_board": False}, "heels_raised": {"heel_board": True}},
    "rotary_stability": {"unilateral": {"pattern": "unilateral"}, "diagonal": {"pattern": "diagonal"}},
}
PUSHUP_LEVELS = {"male": ("forehead", "chin"), "female": ("chin", "collarbone")}
# a different movement the athlete may slip in (not the asked-for test): done instead of a repetition
OTHER_MOVEMENT = {"deep_squat": "inline_lunge", "inline_lunge": "deep_squat"}
# tests whose amplitude is their score (a low leg raise, a push-up that only lifts the chest): an aborted
# repetition is just a low-scoring one, so random plans do not add "partial" ones
NO_PARTIAL = ("active_straight_leg_raise", "trunk_stability_pushup")
HIDDEN_Y_M = -50.0     # where a prop not in use (NaN ends in the motion) is parked for the renderer, out of sight


@dataclass(frozen=True)
class RepPlan:
    """One planned repetition. `score` is the score its knobs imply on their own (1-3)."""

    score: int = 3
    side: str = "NA"                 # L / R for bilateral tests, NA otherwise
    kind: str = "full"               # full | partial (aborted part-way) | other (another movement)
    variant: str = ""                # "" = the generator's own choice for the score; see VARIANTS / hand levels
    partial_share: float = 0.4       # partial: how far into the movement before turning back (0-1)
    pause_before_s: float = 0.0      # standing / lying still before this repetition
    stand_up_before: bool = False    # the athlete stands up (and comes back) before this repetition


@dataclass
class RepTruth:
    """What one repetition of a clip really is (see the module docstring)."""

    index: int                       # 1-based, in clip order
    test: str                        # the movement done (another test for kind "other")
    side: str
    kind: str
    score: int | None                # score its knobs imply alone (None for partial / other)
    failed: list[str]
    variant: str
    decided: bool                    # False: a failed top-variant repetition (the fallback one decides)
    start_frame: int
    bottom_frame: int
    end_frame: int
    knobs: dict = field(default_factory=dict)

    @property
    def counts(self) -> bool:
        """Whether the repetition can count toward the test score (a full repetition of the asked-for test)."""
        return self.kind == "full"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Chunk:
    """A frame range of the clip and the static props seen during it (rendering is done per chunk)."""

    start: int
    stop: int
    props: list


@dataclass
class MultiRepClip:
    """A multi-repetition clip: the motion, its repetitions' truth, per-side truth scores.

    Duck-types tools.synth.library.Sample where truth_skeleton / auto_camera read it
    (motion, athlete, side, sample_id, facing_deg, offset_m, meta()).
    """

    sample_id: str
    test_name: str
    athlete: Athlete
    motion: Motion
    reps: list[RepTruth]
    chunks: list[Chunk]
    seed: int
    style: str = "classic"
    facing_deg: float = 0.0
    offset_m: tuple[float, float] = (0.0, 0.0)
    intervals: list[dict] = field(default_factory=list)   # pauses, blends, stand-ups (frames, kind)

    @property
    def side(self) -> str:
        return self.reps[0].side if self.reps else "NA"

    @property
    def sides(self) -> list[str]:
        return sorted({r.side for r in self.reps if r.counts})

    def truth_scores(self) -> dict[str, int | None]:
        """Per side (NA for one-sided tests): the protocol score, the best counting repetition's score."""
        out: dict[str, int | None] = {}
        for side in sorted({r.side for r in self.reps if r.test == self.test_name}):
            scores = [r.score for r in self.reps if r.counts and r.side == side and r.score is not None]
            out[side] = max(scores) if scores else None
        return out

    def counted_truth(self) -> dict[str, list[int]]:
        """Per side: the indices of the repetitions whose score is the side's score (any of them may count)."""
        best = self.truth_scores()
        return {s: [r.index for r in self.reps if r.counts and r.side == s and r.score == v]
                for s, v in best.items()}

    def meta(self) -> dict:
        from tools.synth.library import GENERATOR_VERSION
        return {
            "source": "synthetic", "generator": GENERATOR_VERSION, "sample_id": self.sample_id,
            "multi_repetition": True, "test_name": self.test_name, "side": self.side, "sides": self.sides,
            "style": self.style, "facing_deg": round(float(self.facing_deg), 3),
            "offset_m": [round(float(v), 4) for v in self.offset_m],
            "truth_scores": self.truth_scores(),
            "repetitions_truth": [r.to_dict() for r in self.reps],
            "intervals": list(self.intervals),
            "athlete": self.athlete.to_dict(), "seed": self.seed,
            "frame": "world: y up, metres, floor y=0; body frame turned by facing_deg about y and moved by offset_m",
        }


# ----- one repetition -------------------------------------------------------------------------------

def _module(test: str):
    from tools.synth.library import test_module
    return test_module(test)


def _draw_knobs(test: str, score: int, rng: np.random.Generator, athlete: Athlete, depth: float | None):
    module = _module(test)
    params = inspect.signature(module.sample_knobs).parameters
    if depth is not None and "depth" in params:
        return module.sample_knobs(rng, score, athlete, depth=depth)
    return module.sample_knobs(rng, score, athlete)


def variant_of(test: str, knobs, athlete: Athlete) -> str:
    """The protocol variant a repetition's knobs are in ('' for tests without variants)."""
    if test == "deep_squat":
        return "heels_raised" if knobs.heel_board else "flat"
    if test == "rotary_stability":
        return knobs.pattern
    if test == "trunk_stability_pushup":
        top, _ = PUSHUP_LEVELS[athlete.sex]
        return "level3" if knobs.hand_level == top else "level2"
    return ""


def _apply_variant(test: str, knobs, variant: str, athlete: Athlete):
    if not variant:
        return knobs
    if test == "trunk_stability_pushup":
        top, low = PUSHUP_LEVELS[athlete.sex]
        levels = {"level3": top, "level2": low}
        if variant not in levels:
            raise InputError(f"push-up variant must be level3 or level2, got {variant!r}")
        return replace(knobs, hand_level=levels[variant])
    table = VARIANTS.get(test)
    if table is None or variant not in table:
        raise InputError(f"{test} has no variant {variant!r}" + (f"; use one of {', '.join(table)}" if table else ""))
    return replace(knobs, **table[variant])


def _fallback(test: str, knobs, athlete: Athlete):
    """The same knobs in the protocol's fallback variant (the one that decides after a failed top one)."""
    if test == "deep_squat":
        return replace(knobs, heel_board=True)
    if test == "rotary_stability":
        return replace(knobs, pattern="diagonal")
    if test == "trunk_stability_pushup":
        return replace(knobs, hand_level=PUSHUP_LEVELS[athlete.sex][1])
    return knobs


def rep_label(test: str, knobs, athlete: Athlete) -> tuple[int, list[str], bool]:
    """(score, failed criteria, decided) of one repetition's knobs on their own.

    A failed repetition in the score-3 variant (flat heels, score-3 hand position,
    unilateral) does not decide the test: its score is 1 with decided False, the
    criteria it fails read from the same knobs in the fallback variant.
    """
    module = _module(test)
    try:
        lab = module.label(knobs, athlete)
        return int(lab.score), list(lab.failed), True
    except InputError:
        lab = module.label(_fallback(test, knobs, athlete), athlete)
        failed = [f for f in lab.failed if f not in ("heel_board_needed", "hands_at_level_3", "unilateral_pattern")]
        return 1, failed, False


def _rep_motion(test: str, knobs, athlete: Athlete, rng: np.random.Generator, fps: float, speed: float,
                side: str, style) -> Motion:
    motion = _module(test).generate(athlete, knobs, rng, fps=fps, speed=speed)
    if style is not None and (style.tempo_warp > 0):
        from tools.synth.style import retime
        motion, _ = retime(motion, rng, style.tempo_warp, (0.0, 0.0))
    return motion.mirrored() if side == "R" else motion


def _partial(motion: Motion, test: str, share: float) -> tuple[np.ndarray, int, int]:
    """Frame indices of a partial repetition (into the movement by `share`, then back), start and turn frames."""
    ev = motion.events
    a, b = int(ev[KEY_EVENTS[test][0]]), int(ev[HOLD_EVENT[test]])
    turn = a + max(2, int(round(share * (b - a))))
    rest = list(range(a))
    out = rest + list(range(a, turn + 1)) + list(range(turn - 1, a - 1, -1)) + [0] * max(1, int(round(0.4 * motion.fps)))
    return np.asarray(out), a, a + (turn - a)


# ----- joining -------------------------------------------------------------------------------------------

@dataclass
class _Piece:
    joints: np.ndarray              # [n, 23, 3]
    spine: np.ndarray               # [n, 3]
    dowel: np.ndarray | None        # [n, 2, 3] or None (no dowel in this piece)
    props: list                     # static props
    kind: str                       # rep | blend | pause | stand


def _dowel_of(motion: Motion, frames: np.ndarray | None = None) -> np.ndarray | None:
    for p in motion.props:
        ends = getattr(p, "ends", None)
        if getattr(p, "name", "") == "dowel" and ends is not None and ends.ndim == 3:
            return ends if frames is None else ends[frames]
    return None


def _static(motion: Motion) -> list:
    return [p for p in motion.props if not (getattr(p, "name", "") == "dowel" and getattr(p, "ends", np.zeros(0)).ndim == 3)]


def _blend(a: _Piece, b: _Piece, n: int, props: list) -> _Piece:
    w = min_jerk((np.arange(n) + 0.5) / n)[:, None, None]
    j = (1 - w) * a.joints[-1] + w * b.joints[0]
    s = (1 - w[:, 0]) * a.spine[-1] + w[:, 0] * b.spine[0]
    dowel = None
    if a.dowel is not None and b.dowel is not None:
        dowel = (1 - w) * a.dowel[-1] + w * b.dowel[0]
    elif a.dowel is not None or b.dowel is not None:      # put down / picked up: drawn only on its own side
        src = a.dowel[-1] if a.dowel is not None else b.dowel[0]
        dowel = np.repeat(src[None], n, 0)
        hide = (np.arange(n) >= n // 2) if a.dowel is not None else (np.arange(n) < n // 2)
        dowel[hide] = np.nan               # not in use: NaN (the camera fit skips it; render_clip parks it)
    return _Piece(j, s, dowel, props, "blend")


def _hold(p: _Piece, n: int, rng: np.random.Generator, fps: float, first: bool, kind: str = "pause") -> _Piece:
    k = 0 if first else -1
    drift = sway(rng, n, fps, 0.003) * np.array([1.0, 0.25, 1.0])
    drift -= drift[0] if first else drift[-1]
    j = p.joints[k][None] + drift[:, None, :]
    s = p.spine[k][None] + drift
    dowel = None if p.dowel is None else p.dowel[k][None] + drift[:, None, :]
    return _Piece(j, s, dowel, p.props, kind)


def _neutral_stand(athlete: Athlete, rng: np.random.Generator, fps: float) -> _Piece:
    """The athlete standing, arms hanging (the shoulder-mobility start pose), one frame."""
    module = _module("shoulder_mobility")
    knobs = module.sample_knobs(np.random.default_rng(int(rng.integers(2 ** 31))), 3, athlete)
    m = module.generate(athlete, knobs, np.random.default_rng(int(rng.integers(2 ** 31))), fps=fps, speed=1.0)
    return _Piece(m.joints[:1], m.spine_mid[:1], None, [], "stand")


# ----- the clip -------------------------------------------------------------------------------------------

def make_repetition_clip(test: str, seed: int, plan: list[RepPlan] | None = None, athlete: Athlete | None = None,
                         style=None, fps: float = 30.0, sample_id: str | None = None) -> MultiRepClip:
    """One clip of several repetitions of `test` (random plan from `seed` unless `plan` is given).

    Same arguments -> the same clip, bit for bit. `style` is a tools.synth.style name or
    GeneratorStyle (body range, tempo, depth of movement, facing, placement); None = classic.
    """
    from tools.synth.style import get_style
    if test not in TESTS:
        raise InputError(f"unknown FMS test {test!r}; use one of: {', '.join(TESTS)}")
    style = get_style(style)
    rng = np.random.default_rng([seed, TESTS.index(test)])
    if athlete is None:
        athlete = make_athlete(rng, index=seed % 10000, body=style.body)
    if plan is None:
        plan = sample_plan(test, rng)
    check_plan(test, plan)
    base_speed = (float(rng.uniform(*style.speed_range)) if style.speed_range is not None
                  else float(rng.choice([0.8, 1.0, 1.25])))
    depth = float(rng.uniform(*style.depth)) if style.depth is not None else None
    pieces: list[_Piece] = []
    truths: list[RepTruth] = []
    neutral = None
    frame = 0
    intervals: list[dict] = []

    def add(piece: _Piece) -> int:
        nonlocal frame
        start = frame
        pieces.append(piece)
        frame += piece.joints.shape[0]
        if piece.kind != "rep":
            intervals.append({"kind": piece.kind, "start_frame": start, "end_frame": frame})
        return start

    for i, rp in enumerate(plan, start=1):
        rep_rng = np.random.default_rng([seed, i])
        speed = float(np.clip(base_speed * rep_rng.uniform(0.9, 1.1), 0.45, 2.4))
        done = OTHER_MOVEMENT.get(test, test) if rp.kind == "other" else test
        rep_side = (rp.side if done in BILATERAL else "NA") if rp.kind != "other" else \
            ("L" if done in BILATERAL else "NA")
        if rp.kind == "other":
            knobs = _draw_knobs(done, 3, rep_rng, athlete, depth)
        else:
            knobs = _apply_variant(test, _draw_knobs(test, rp.score, rep_rng, athlete, depth), rp.variant, athlete)
        score, failed, decided = rep_label(done, knobs, athlete)
        motion = _rep_motion(done, knobs, athlete, rep_rng, fps, speed, rep_side, style)
        ev = motion.events
        start_ev, (b0, b1), end_ev = KEY_EVENTS[done]
        if rp.kind == "partial":
            frames, a, turn = _partial(motion, done, rp.partial_share)
            joints, spine, dowel = motion.joints[frames], motion.spine_mid[frames], _dowel_of(motion, frames)
            marks = (a, turn, turn + (turn - a))
        else:
            joints, spine, dowel = motion.joints, motion.spine_mid, _dowel_of(motion)
            marks = (int(ev[start_ev]), int(round(0.5 * (ev[b0] + ev[b1]))), int(ev[end_ev]))
        piece = _Piece(joints, spine, dowel, _static(motion), "rep")
        if pieces:
            prev = pieces[-1]
            if rp.stand_up_before:
                neutral = neutral or _neutral_stand(athlete, rng, fps)
                add(_blend(prev, neutral, int(round(rep_rng.uniform(1.2, 2.0) * fps)), []))
                add(_hold(neutral, int(round(rep_rng.uniform(1.0, 2.0) * fps)), rep_rng, fps, True, "stand"))
                add(_blend(pieces[-1], piece, int(round(rep_rng.uniform(1.2, 2.0) * fps)), piece.props))
            else:
                add(_blend(prev, piece, int(round(rep_rng.uniform(0.3, 0.6) * fps)), piece.props))
        if rp.pause_before_s > 0:
            add(_hold(piece, int(round(rp.pause_before_s * fps)), rep_rng, fps, True))
        offset = add(piece)
        truths.append(RepTruth(
            index=i, test=done, side=rep_side, kind=rp.kind,
            score=score if rp.kind == "full" else None, failed=failed if rp.kind == "full" else [],
            variant=variant_of(done, knobs, athlete), decided=decided if rp.kind == "full" else False,
            start_frame=offset + marks[0], bottom_frame=offset + marks[1], end_frame=offset + marks[2],
            knobs={k: (bool(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in asdict(knobs).items()}))
    if rng.random() < 0.5:                               # some clips end with the athlete still a while longer
        add(_hold(pieces[-1], int(round(rng.uniform(0.3, 1.2) * fps)), rng, fps, False))
    return _assemble(test, seed, athlete, pieces, truths, intervals, style, fps, rng,
                     sample_id or f"syn_reps_{test}_{seed}")


def _assemble(test: str, seed: int, athlete: Athlete, pieces: list[_Piece], truths: list[RepTruth],
              intervals: list[dict], style, fps: float, rng: np.random.Generator, sample_id: str) -> MultiRepClip:
    motion, chunks = join_pieces(pieces, fps)
    facing = float(rng.uniform(*style.facing_deg)) if style.facing_deg != (0.0, 0.0) else 0.0
    offset = (tuple(float(v) for v in rng.uniform(-style.offset_m, style.offset_m, size=2))
              if style.offset_m > 0 else (0.0, 0.0))
    return MultiRepClip(sample_id=sample_id, test_name=test, athlete=athlete, motion=motion, reps=truths,
                        chunks=chunks, seed=seed, style=style.name, facing_deg=facing, offset_m=offset,
                        intervals=intervals)


def join_pieces(pieces: list[_Piece], fps: float) -> tuple[Motion, list[Chunk]]:
    """One Motion from consecutive pieces (the dowel parked out of sight where a piece has none) and the
    chunks of frames that share their static props."""
    from tools.synth.props import DOWEL_RGB, Capsule
    joints = np.concatenate([p.joints for p in pieces]).astype(np.float64)
    spine = np.concatenate([p.spine for p in pieces]).astype(np.float64)
    props: list = []
    if any(p.dowel is not None for p in pieces):
        ends = []
        for p in pieces:
            if p.dowel is not None:
                ends.append(p.dowel)
            else:
                ends.append(np.full((p.joints.shape[0], 2, 3), np.nan))
        props.append(Capsule("dowel", np.concatenate(ends), 0.0125, DOWEL_RGB))
    chunks, start = [], 0
    for p in pieces:
        n = p.joints.shape[0]
        if chunks and _same_props(chunks[-1].props, p.props):
            chunks[-1].stop = start + n
        else:
            chunks.append(Chunk(start, start + n, list(p.props)))
        start += n
    return Motion(joints=joints, spine_mid=spine, fps=fps, props=props, events={}), chunks


def clip_pieces(clip: MultiRepClip) -> list[_Piece]:
    """A clip as pieces again (one per chunk), to join it with others (a whole-screen recording)."""
    dowel = _dowel_of(clip.motion)
    out = []
    for ch in clip.chunks:
        d = None if dowel is None else dowel[ch.start:ch.stop]
        if d is not None and np.isnan(d).all():
            d = None
        out.append(_Piece(clip.motion.joints[ch.start:ch.stop], clip.motion.spine_mid[ch.start:ch.stop], d,
                          list(ch.props), "rep"))
    return out


def _same_props(a: list, b: list) -> bool:
    key = lambda ps: sorted((getattr(p, "name", ""), str(getattr(p, "centre", ""))) for p in ps)
    return key(a) == key(b)


# ----- random plans ------------------------------------------------------------------------------------------

def sample_plan(test: str, rng: np.random.Generator, both_sides: bool | None = None) -> list[RepPlan]:
    """A random plan as physios film it: 1-3 repetitions per side, now and then one failed among good ones,
    the protocol's fallback variant after a failed score-3 one, pauses, a partial repetition, another
    movement slipped in, a stand-up between repetitions; bilateral tests in one or both sides."""
    if test in BILATERAL:
        if both_sides is None:
            both_sides = bool(rng.random() < 0.5)
        sides = ["L", "R"] if both_sides else [str(rng.choice(["L", "R"]))]
    else:
        sides = ["NA"]
    plan: list[RepPlan] = []
    for side in sides:
        plan += _side_plan(test, side, rng)
    # a partial repetition or another movement now and then, never as the only repetition of a side
    if len(plan) >= 2 and test not in NO_PARTIAL and rng.random() < 0.2:
        k = int(rng.integers(0, len(plan) + 1))
        side = plan[min(k, len(plan) - 1)].side
        plan.insert(k, RepPlan(score=3, side=side, kind="partial", partial_share=float(rng.uniform(0.25, 0.45))))
    if test in OTHER_MOVEMENT and len(plan) >= 2 and rng.random() < 0.15:
        k = int(rng.integers(0, len(plan) + 1))
        plan.insert(k, RepPlan(score=3, side=plan[min(k, len(plan) - 1)].side, kind="other"))
    out = []
    for k, rp in enumerate(plan):
        pause = float(rng.uniform(0.5, 3.0)) if (k > 0 and rng.random() < 0.4) else 0.0
        stand = bool(k > 0 and rng.random() < 0.12)
        out.append(replace(rp, pause_before_s=pause, stand_up_before=stand))
    return out


def _side_plan(test: str, side: str, rng: np.random.Generator) -> list[RepPlan]:
    n = int(rng.choice([1, 2, 2, 3, 3, 3]))
    top = {"deep_squat": "flat", "trunk_stability_pushup": "level3", "rotary_stability": "unilateral"}.get(test)
    if top is not None and rng.random() < 0.45:
        # a failed score-3 variant, then the fallback variant decides (2 or 1)
        fallback_scores = [int(rng.choice([2, 1])) for _ in range(max(1, n - 1))]
        return [RepPlan(score=1, side=side, variant=top)] + [RepPlan(score=s, side=side) for s in fallback_scores]
    good = int(rng.choice([3, 2, 3])) if top is None else 3
    if top is not None and good == 3 and rng.random() < 0.3:
        good = 2   # only the fallback variant passes
    scores = [good] * n
    if n >= 2 and rng.random() < 0.5:
        worse = [s for s in (1, 2) if s < good] if good > 1 else []
        if worse:
            scores[int(rng.integers(0, n))] = int(rng.choice(worse))
    return [RepPlan(score=s, side=side) for s in scores]


def check_plan(test: str, plan: list[RepPlan]) -> None:
    if not plan:
        raise InputError("a repetition plan needs at least one repetition")
    for k, rp in enumerate(plan, start=1):
        if rp.kind not in ("full", "partial", "other"):
            raise InputError(f"repetition {k}: kind must be full, partial or other, got {rp.kind!r}")
        if rp.score not in (1, 2, 3):
            raise InputError(f"repetition {k}: score must be 1-3, got {rp.score}")
        if test in BILATERAL and rp.kind != "other" and rp.side not in ("L", "R"):
            raise InputError(f"repetition {k}: {test} is bilateral, side must be L or R, got {rp.side!r}")
        if rp.kind == "other" and test not in OTHER_MOVEMENT:
            raise InputError(f"repetition {k}: no other movement is modelled for {test}")


# ----- skeletons and video --------------------------------------------------------------------------------

def clip_skeleton(clip: MultiRepClip, camera=None, noise: str = "clean", noise_seed: int | None = None):
    """The clip's canonical Skeleton (exact, or with a tools.synth.noise model), truth in meta."""
    from tools.synth.library import truth_skeleton
    skel = truth_skeleton(clip, camera)
    if noise != "clean":
        from tools.synth.noise import add_noise
        skel = add_noise(skel, noise, np.random.default_rng(clip.seed if noise_seed is None else noise_seed))
    return skel


def render_clip(clip, camera, path: str | Path, crf: int = 23) -> Path:
    """Render a multi-repetition clip (or a whole-screen recording) to H.264, chunk by chunk (props per chunk)."""
    from tools.synth.render import Renderer
    from tools.video.clip import write_video

    def frames():
        for ch in clip.chunks:
            dyn = []
            for p in clip.motion.props:
                ends = getattr(p, "ends", None)
                if ends is not None and ends.ndim == 3:
                    part_ends = ends[ch.start:ch.stop].copy()
                    part_ends[np.isnan(part_ends).any(axis=-1)] = (0.0, HIDDEN_Y_M, 0.0)   # out of sight
                    dyn.append(replace(p, ends=part_ends))
            part = Motion(joints=clip.motion.joints[ch.start:ch.stop], spine_mid=clip.motion.spine_mid[ch.start:ch.stop],
                          fps=clip.motion.fps, props=dyn + list(ch.props), events={})
            yield from Renderer(camera, clip.athlete, part).frames()

    log.info("render %s: %d frames in %d chunks", clip.sample_id, clip.motion.n_frames, len(clip.chunks))
    return write_video(path, frames(), fps=clip.motion.fps, crf=crf)
