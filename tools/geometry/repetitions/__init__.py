"""Repetition segmentation: where each repetition of an FMS test starts, bottoms out and ends.

Physios film up to three repetitions per test and side in one take (the whole
screen, often, in one recording). `segment_repetitions(skel, test)` finds them
from the skeleton's own movement signal for that test (signals.py: hip height
for the squat and push-up, stepping-foot travel for the hurdle step, knee
height for the lunge, leg angle for the ASLR, fist travel for rotary
stability, the reach for shoulder mobility) as excursions from rest
(segment.py), robust to pauses, partial repetitions and standing up in
between. Each repetition has start / bottom / end frames and the slice of the
clip (with rest before and after) that is scored on its own.
"""
from tools.geometry.repetitions.segment import (
                                                Repetition,
                                                Segmentation,
                                                SegmentConfig,
                                                segment_repetitions,
                                                segment_signal,
)
from tools.geometry.repetitions.signals import (
                                                SIGNALS,
                                                MovementSignal,
                                                SignalSpec,
                                                movement_signal,
)

__all__ = [
                                                "SIGNALS",
                                                "MovementSignal",
                                                "Repetition",
                                                "SegmentConfig",
                                                "Segmentation",
                                                "SignalSpec",
                                                "movement_signal",
                                                "segment_repetitions",
                                                "segment_signal",
]
