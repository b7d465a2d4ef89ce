"""Parametric synthetic athletes: segment lengths from height and sex, varied proportions.

Proportions follow the classic anthropometric ratios of stature (Drillis &
Contini, as tabulated by Winter, "Biomechanics and Motor Control of Human
Movement"): ankle height 0.039 H, knee 0.285 H, hip joint 0.530 H, shoulder
0.818 H, upper arm 0.186 H, forearm 0.146 H, hand 0.108 H, foot 0.152 H.
Each athlete gets every ratio scaled by its own factor (about 3 % sd), the same
on both sides, so one athlete's left and right are mirror images.

All lengths are metres. Synthetic athlete ids start with "SYN-" so they can
never be mistaken for a real athlete.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tools.core.errors import InputError
from tools.synth.style import BodyRange

SYNTHETIC_ID_PREFIX = "SYN-"

# Stature ratios (Winter's table); sex-specific widths.
_RATIOS = {
    "ankle_height": 0.039, "shank": 0.246, "thigh": 0.245, "trunk": 0.288,
    "neck": 0.052, "upper_arm": 0.186, "forearm": 0.146, "hand": 0.108, "foot": 0.152,
}
_WIDTHS = {  # joint-centre separations as stature ratios
    "male": {"shoulder": 0.215, "hip": 0.100},
    "female": {"shoulder": 0.200, "hip": 0.112},
}
_STATURE = {"male": (1.78, 0.07), "female": (1.65, 0.065)}

# Appearance palettes (RGB 0-255): clothing contrasts with skin so limbs stand out.
_SKIN = ((236, 196, 164), (224, 172, 135), (198, 134, 96), (160, 104, 70), (110, 72, 48))
_SHIRT = ((40, 90, 170), (170, 40, 50), (40, 130, 80), (230, 120, 30), (90, 60, 140), (30, 140, 150))
_SHORTS = ((30, 30, 38), (45, 45, 70), (60, 40, 30), (25, 55, 45))
_HAIR = ((30, 22, 18), (70, 45, 25), (150, 110, 60), (20, 20, 20))
_SHOES = ((235, 235, 235), (40, 40, 40), (200, 60, 40))


@dataclass(frozen=True)
class Athlete:
    """One synthetic athlete: body dimensions (metres) and look (RGB colours)."""

    athlete_id: str
    sex: str
    height_m: float
    ankle_height_m: float
    shank_m: float
    thigh_m: float
    trunk_m: float          # hip-joint line to shoulder-joint line
    neck_m: float           # shoulder line to the base of the skull
    upper_arm_m: float
    forearm_m: float
    hand_length_m: float    # distal wrist crease to tip of the middle finger (FMS hand length)
    foot_m: float
    shoulder_half_width_m: float
    hip_half_width_m: float
    girth: float            # scales limb and trunk thickness (1 = average build)
    skin_rgb: tuple[int, int, int] = (224, 172, 135)
    shirt_rgb: tuple[int, int, int] = (40, 90, 170)
    shorts_rgb: tuple[int, int, int] = (30, 30, 38)
    hair_rgb: tuple[int, int, int] = (30, 22, 18)
    shoes_rgb: tuple[int, int, int] = (235, 235, 235)

    @property
    def hip_height_m(self) -> float:
        return self.ankle_height_m + self.shank_m + self.thigh_m

    @property
    def arm_m(self) -> float:
        """Shoulder to fist centre with the arm straight."""
        return self.upper_arm_m + self.forearm_m + self.fist_offset_m

    @property
    def fist_offset_m(self) -> float:
        """Wrist to the centre of the knuckles of a closed fist."""
        return 0.45 * self.hand_length_m

    @property
    def tibial_tuberosity_height_m(self) -> float:
        """Hurdle height by protocol: the tibial tuberosity, a little below the knee joint line."""
        return self.ankle_height_m + self.shank_m - 0.07 * self.shank_m

    @property
    def head_radius_m(self) -> float:
        return 0.062 * self.height_m

    @property
    def knee_radius_m(self) -> float:
        """Knee joint centre to the skin over the patella / back of the knee (limb thickness at the knee)."""
        return 0.050 * self.girth * self.height_m / 1.75

    @property
    def elbow_radius_m(self) -> float:
        """Elbow joint centre to the skin of the elbow."""
        return 0.035 * self.girth * self.height_m / 1.75

    def to_dict(self) -> dict:
        return asdict(self)


# Segment groups a body range scales together (tools.synth.style.BodyRange).
_GROUPS = {"ankle_height": "leg", "shank": "leg", "thigh": "leg", "trunk": "trunk", "neck": "trunk",
           "upper_arm": "arm", "forearm": "arm", "hand": "arm", "foot": "leg"}


def make_athlete(rng: np.random.Generator, index: int = 0, sex: str | None = None,
                 height_m: float | None = None, variation: float = 0.03, body: BodyRange | None = None) -> Athlete:
    """Draw one athlete. `variation` is the sd of each proportion factor (0 = textbook body).

    `body` (a generator style's BodyRange) moves the stature mean and scales leg, trunk,
    arm and width groups by a factor drawn from its ranges; None keeps the classic
    textbook bodies (and the classic random stream, bit for bit).
    """
    if sex is None:
        sex = "male" if rng.random() < 0.5 else "female"
    if sex not in _WIDTHS:
        raise InputError(f"athlete sex must be 'male' or 'female', got {sex!r}")
    mean, sd = _STATURE[sex]
    group = {"leg": 1.0, "trunk": 1.0, "arm": 1.0, "width": 1.0}
    if body is not None:
        variation = body.proportion_sd
        mean = mean + float(rng.uniform(*body.stature_shift_sd)) * sd
        group = {"leg": float(rng.uniform(*body.leg_factor)), "trunk": float(rng.uniform(*body.trunk_factor)),
                 "arm": float(rng.uniform(*body.arm_factor)), "width": float(rng.uniform(*body.width_factor))}
    if height_m is None:
        height_m = float(np.clip(rng.normal(mean, sd), mean - 2.5 * sd, mean + 2.5 * sd))
        if body is not None:
            height_m = float(np.clip(height_m, 1.3, 2.1))
    if not 1.2 <= height_m <= 2.2:
        raise InputError(f"athlete height must be 1.2-2.2 m, got {height_m}")

    def scaled(ratio: float, factor_group: str = "width") -> float:
        factor = float(np.clip(rng.normal(1.0, variation), 1 - 3 * variation, 1 + 3 * variation))
        return ratio * factor * group[factor_group] * height_m

    lengths = {name + ("_m" if name != "hand" else "_length_m"): scaled(r, _GROUPS[name]) for name, r in _RATIOS.items()}
    widths = _WIDTHS[sex]
    pick = lambda palette: tuple(int(c) for c in palette[rng.integers(len(palette))])  # noqa: E731
    return Athlete(
        athlete_id=f"{SYNTHETIC_ID_PREFIX}{index:04d}",
        sex=sex, height_m=height_m,
        ankle_height_m=lengths["ankle_height_m"], shank_m=lengths["shank_m"], thigh_m=lengths["thigh_m"],
        trunk_m=lengths["trunk_m"], neck_m=lengths["neck_m"], upper_arm_m=lengths["upper_arm_m"],
        forearm_m=lengths["forearm_m"], hand_length_m=lengths["hand_length_m"], foot_m=lengths["foot_m"],
        shoulder_half_width_m=scaled(widths["shoulder"]) / 2, hip_half_width_m=scaled(widths["hip"]) / 2,
        girth=float(np.clip(rng.normal(1.0, 0.08), 0.8, 1.25)) if body is None else float(rng.uniform(*body.girth)),
        skin_rgb=pick(_SKIN), shirt_rgb=pick(_SHIRT), shorts_rgb=pick(_SHORTS),
        hair_rgb=pick(_HAIR), shoes_rgb=pick(_SHOES),
    )


def athlete_from_dict(d: dict) -> Athlete:
    """Rebuild an Athlete saved with `to_dict` (colour lists become tuples)."""
    fields = dict(d)
    for key in ("skin_rgb", "shirt_rgb", "shorts_rgb", "hair_rgb", "shoes_rgb"):
        if key in fields:
            fields[key] = tuple(int(c) for c in fields[key])
    return Athlete(**fields)


# Street clothes for people who are not being screened: colours far from any training kit palette entry
# that the athlete wears, so a passer never looks like a second copy of the athlete.
_STREET_TOPS = ((225, 195, 45), (235, 235, 228), (215, 120, 160), (70, 70, 75), (120, 170, 60), (150, 100, 60))
_STREET_BOTTOMS = ((55, 75, 120), (150, 130, 90), (105, 105, 112), (20, 20, 24))


@dataclass(frozen=True)
class Bystander(Athlete):
    """Someone in the scene who is not being screened (a passer, a coach): street clothes,
    long sleeves and trousers (the renderer draws forearms in the top's colour, shins in the bottoms')."""

    long_sleeves: bool = True
    trousers: bool = True


def make_bystander(rng: np.random.Generator, index: int = 0, avoid: Athlete | None = None,
                   height_m: float | None = None) -> Bystander:
    """Draw a bystander whose top and bottoms differ clearly (RGB distance > 120) from `avoid`'s shirt and shorts."""
    body = make_athlete(rng, index=index, height_m=height_m)

    def far(palette: tuple, *others: tuple) -> tuple[int, int, int]:
        choices = [c for c in palette
                   if all(np.linalg.norm(np.subtract(c, o)) > 120 for o in others)] or list(palette)
        return tuple(int(v) for v in choices[rng.integers(len(choices))])

    avoid_rgb = (avoid.shirt_rgb, avoid.shorts_rgb) if avoid is not None else ()
    top = far(_STREET_TOPS, *avoid_rgb)
    bottoms = far(_STREET_BOTTOMS, *avoid_rgb, top)
    fields = {**body.to_dict(), "athlete_id": f"{SYNTHETIC_ID_PREFIX}BYST-{index:04d}",
              "shirt_rgb": top, "shorts_rgb": bottoms}
    return Bystander(**fields)
