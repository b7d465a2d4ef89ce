"""Contact sheet: one rendered frame of every FMS test at every visible score level.

    python -m tools.synth.sheet [docs/contact_sheet.png]

Rows are the seven tests, columns scores 3, 2, 1 (score 0 = pain reported: the
movement is unchanged, so it has no picture of its own). Each cell shows the
deciding moment from the view that best shows it, captioned with the failed
criterion ids, so a physio can check the library looks like the FMS.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from tools.core.fms import BILATERAL, TESTS
from tools.synth.library import auto_camera, make_sample
from tools.synth.render import Renderer

# test -> (view, phase whose middle frame decides, or an event name)
DECIDING = {
    "deep_squat": ("45", "bottom"),
    "hurdle_step": ("45", "highest_lift"),
    "inline_lunge": ("45", "bottom"),
    "shoulder_mobility": ("back", "hold"),
    "active_straight_leg_raise": ("side", "top"),
    "trunk_stability_pushup": ("side", "push"),
    "rotary_stability": ("side", "touch"),
}
CELL = (320, 240)
SHORT = {"deep_squat": "deep squat", "hurdle_step": "hurdle step", "inline_lunge": "in-line lunge",
         "shoulder_mobility": "shoulder mob.", "active_straight_leg_raise": "ASLR",
         "trunk_stability_pushup": "push-up", "rotary_stability": "rotary stab."}


def deciding_frame(events: dict, name: str) -> int:
    """Middle frame of phase `name` (events hold each phase's first frame), or the event itself."""
    starts = sorted(events.values())
    start = events[name]
    later = [v for v in starts if v > start]
    return (start + later[0]) // 2 if later and name != "highest_lift" else start


def _caption(img: np.ndarray, lines: list[str]) -> np.ndarray:
    out = img.copy()
    y = 16
    for line in lines:
        cv2.putText(out, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 3, cv2.LINE_AA)
        cv2.putText(out, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (20, 20, 20), 1, cv2.LINE_AA)
        y += 16
    return out


def contact_sheet(path: str | Path, seed: int = 11) -> Path:
    rows = []
    for t_index, test in enumerate(TESTS):
        view, phase = DECIDING[test]
        cells = []
        for score in (3, 2, 1):
            sample = make_sample(test, seed=seed + 10 * t_index + score, score=score,
                                 side="L" if test in BILATERAL else "NA")
            camera = auto_camera(sample, view, width=CELL[0], height=CELL[1], fill=0.9)
            frame = Renderer(camera, sample.athlete, sample.motion).frame(deciding_frame(sample.motion.events, phase))
            failed = ", ".join(sample.label.failed) or "all criteria pass"
            words, lines, line = failed.split(", "), [], ""
            for w in words:
                if len(line) + len(w) > 38:
                    lines.append(line.rstrip(", "))
                    line = ""
                line += w + ", "
            lines.append(line.rstrip(", "))
            cells.append(_caption(frame, [f"{SHORT[test]} {sample.side}  score {score}  ({view} view)"] + lines))
        rows.append(np.concatenate(cells, axis=1))
    sheet = np.concatenate(rows, axis=0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "docs" / "contact_sheet.png"
    parser.add_argument("path", nargs="?", default=str(default))
    print(contact_sheet(parser.parse_args().path))


if __name__ == "__main__":
    main()
