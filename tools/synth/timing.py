"""Natural timing: minimum-jerk easing, phase timelines with pauses, tremor and sway.

A movement is a list of phases (name, seconds, start level, end level); the
level (0..1) eases between them with the minimum-jerk profile
10t^3 - 15t^4 + 6t^5 (zero velocity and acceleration at both ends), which is
how unhurried human reaches and squats are usually modelled (Flash & Hogan).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def min_jerk(t: np.ndarray) -> np.ndarray:
    """Minimum-jerk ease from 0 to 1 over t in [0, 1]."""
    t = np.clip(t, 0.0, 1.0)
    return t ** 3 * (10 - 15 * t + 6 * t ** 2)


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    start: float
    end: float


def timeline(phases: list[Phase], fps: float) -> tuple[np.ndarray, dict[str, int]]:
    """Level per frame [T] and the first frame of each phase (plus 'end')."""
    levels, events, frame = [], {}, 0
    for ph in phases:
        n = max(1, int(round(ph.seconds * fps)))
        t = (np.arange(n) + 0.5) / n
        levels.append(ph.start + (ph.end - ph.start) * min_jerk(t))
        events.setdefault(ph.name, frame)
        frame += n
    events["end"] = frame
    return np.concatenate(levels), events


def sway(rng: np.random.Generator, n_frames: int, fps: float, amplitude_m: float,
         freq_hz: tuple[float, float] = (0.2, 0.7), dims: int = 3) -> np.ndarray:
    """Smooth postural sway [T, dims]: a few sinusoids with random phases."""
    t = np.arange(n_frames) / fps
    out = np.zeros((n_frames, dims))
    for _ in range(3):
        f = rng.uniform(*freq_hz, size=dims)
        ph = rng.uniform(0, 2 * np.pi, size=dims)
        out += np.sin(2 * np.pi * f * t[:, None] + ph) / 3
    return out * amplitude_m


def tremor(rng: np.random.Generator, n_frames: int, fps: float, amplitude_m: float,
           dims: int = 3) -> np.ndarray:
    """Physiological tremor [T, dims]: small 6-11 Hz oscillation (aliased at low fps, as a camera sees it)."""
    return sway(rng, n_frames, fps, amplitude_m, freq_hz=(6.0, 11.0), dims=dims)
