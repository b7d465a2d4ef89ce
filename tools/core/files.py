"""Files: which suffixes are clips, content hashes, and writes that never leave a half-written file.

A clip is a video (VIDEO_SUFFIXES) or a canonical skeleton (.npz, see
tools.core.skeleton). Every artifact FormScout writes goes to a temporary name
in the same folder and is renamed into place (os.replace is atomic on one
file system), so a reader sees the old file or the new one, never a part.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
SKELETON_SUFFIXES: tuple[str, ...] = (".npz",)
CLIP_SUFFIXES: tuple[str, ...] = SKELETON_SUFFIXES + VIDEO_SUFFIXES   # a skeleton wins over a video of one clip


def is_skeleton_file(path: str | Path) -> bool:
    return str(path).lower().endswith(SKELETON_SUFFIXES)


def is_video_file(path: str | Path) -> bool:
    return str(path).lower().endswith(VIDEO_SUFFIXES)


def file_sha256(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """sha256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """A temporary path beside `final`; renamed onto `final` when the block ends without an error.

    The temporary name keeps the final suffix (numpy and OpenCV choose the
    format by it). On an error the temporary file is removed and `final` is
    left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(final: str | Path, text: str) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_text(text)
    return Path(final)


def write_bytes_atomic(final: str | Path, data: bytes) -> Path:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)
