"""MediaPipe's native start-up banners are silenced on a normal run, and stderr always comes back."""
from __future__ import annotations

import logging
import os
import threading

from tools.pose.mediapipe_pose import native_banners_silenced


def test_native_writes_to_stderr_are_silenced_and_stderr_is_restored(capfd):
    with native_banners_silenced():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_overlapping_threads_share_one_silence_and_restore_stderr(capfd):
    inside, release = threading.Barrier(3), threading.Event()

    def graph_start() -> None:
        with native_banners_silenced():
            inside.wait()
            os.write(2, b"W0000 feedback manager\n")
            release.wait()

    threads = [threading.Thread(target=graph_start) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()          # both threads are inside the silenced section
    release.set()
    for t in threads:
        t.join()
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "still here\n"


def test_verbose_keeps_the_banners(capfd):
    logger = logging.getLogger("tools.pose.mediapipe_pose")
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        with native_banners_silenced():
            os.write(2, b"banner\n")
    finally:
        logger.setLevel(old)
    assert "banner" in capfd.readouterr().err
