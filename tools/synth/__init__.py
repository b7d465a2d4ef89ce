"""Synthetic FMS library: parametric athletes doing the seven tests, labels from knobs, rendered video.

The project's test-data factory and pretraining set. Modules, one job each:
  body      parametric athlete (segment lengths from height and sex, per-athlete variation)
  rig       geometry helpers (two-bone IK, feet, face points) and the Motion container
  timing    minimum-jerk phases, pauses, sway and tremor
  squat, hurdle, lunge, shoulder, aslr, pushup, rotary
            one FMS test each: Knobs dataclass, sample_knobs(rng, score, athlete),
            label(knobs, athlete) -> Label, generate(athlete, knobs, rng, fps, speed) -> Motion
  criteria  criterion ids per test (shared with the rubric engine) and the Label record
  props     dowel, 2x6 board, hurdle geometry
  camera    pinhole cameras for named views (front, side, 45, back)
  render    numpy ray-casting mannequin renderer (no GL)
  noise     pose-estimator-like noise at named levels (clean, realistic, hard)
  library   make_sample / truth_skeleton / render_video / generate_library (the CLI's engine)
  sheet     the contact sheet (docs/contact_sheet.png); demo: the bundled demo clip
What the generator models and what it does not: docs/SYNTHETIC.md.
"""
from tools.synth.body import SYNTHETIC_ID_PREFIX, Athlete, make_athlete
from tools.core.fms import BILATERAL, TESTS
from tools.synth.criteria import CRITERIA, Label
from tools.synth.library import (LibraryConfig, Sample, auto_camera, generate_library, make_sample, render_video,
                                 truth_skeleton)
from tools.synth.noise import NOISE_LEVELS, add_noise

__all__ = [
    "SYNTHETIC_ID_PREFIX", "Athlete", "make_athlete", "BILATERAL", "CRITERIA", "TESTS", "Label",
    "LibraryConfig", "Sample", "auto_camera", "generate_library", "make_sample", "render_video",
    "truth_skeleton", "NOISE_LEVELS", "add_noise",
]
