"""A quiet terminal on a normal run: native banners, library chatter and repeats kept back (shown with --verbose).

`quiet_native_logs(verbose)` is called once at a program's edge (the CLI's
main, the app's main), never by a library:

- MediaPipe / TFLite / absl start-up lines ("Created TensorFlow Lite XNNPACK
  delegate", "All log messages before absl::InitializeLog()", the feedback
  manager notes): GLOG_minloglevel=2 and TF_CPP_MIN_LOG_LEVEL=3 for the
  native code (set before it loads);
- Hugging Face's weight-loading progress bars (HF_HUB_DISABLE_PROGRESS_BARS);
- protobuf's deprecation UserWarning and numpy's "All-NaN slice" / "Mean of
  empty slice" RuntimeWarnings (a joint missing for a whole clip is reported
  by the quality check, not by a numpy warning);
- a log line repeated word for word (e.g. the overlay's "highlight joints ...
  not all visible on this frame" for every frame of the highlight window) is
  shown once (`RepeatFilter` on the root handlers).
With `verbose` nothing is held back.
"""
from __future__ import annotations

import logging
import os
import warnings

QUIET_ENV = {"GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
             "TRANSFORMERS_VERBOSITY": "error"}
NUMPY_NOISE = (r"All-NaN (slice|axis) encountered", r"Mean of empty slice", r"Degrees of freedom <= 0")


class RepeatFilter(logging.Filter):
    """Lets each distinct (logger, level, message) through once; later repeats are dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        key = (record.name, record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def quiet_native_logs(verbose: bool = False) -> None:
    """Keep a normal run's terminal to FormScout's own output (see the module docstring); a no-op when verbose."""
    if verbose:
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", category=UserWarning, module="google.protobuf")
    for message in NUMPY_NOISE:
        warnings.filterwarnings("ignore", message=message, category=RuntimeWarning)
    logging.getLogger("absl").setLevel(logging.ERROR)
    for handler in logging.getLogger().handlers:       # call after logging is configured: filters sit on handlers
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())
