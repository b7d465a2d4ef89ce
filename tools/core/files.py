"""Files: which suffixes are clips, content hashes, writes that never leave a half-written file, and the
one clip resolver (where a labelled clip's file is).

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


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()   # read once at import: os.umask can only be read by setting it, which threads would race


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
    os.fchmod(fd, 0o666 & ~_UMASK)          # the permissions a plain open() would give, not mkstemp's 0600
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


def write_json_atomic(final: str | Path, obj, **dumps_kwargs) -> Path:
    """`obj` as JSON (indent 2 unless given), written to a temporary name and renamed into place."""
    import json
    dumps_kwargs.setdefault("indent", 2)
    dumps_kwargs.setdefault("default", str)
    return write_text_atomic(final, json.dumps(obj, **dumps_kwargs))


# ----- finding a labelled clip's file ----------------------------------------------------------------------
CONVENTIONAL_SUBFOLDERS: tuple[str, ...] = ("skeletons", "clips", "videos")  # `formscout synth` writes skeletons/


class ClipNotFound(ValueError):
    """A labelled clip's file could not be found (or was found twice); `tried` lists where it was looked for."""

    def __init__(self, message: str, tried: list[str]) -> None:
        super().__init__(message)
        self.tried = tried


def _brace(folder: Path, stem: str, suffixes: tuple[str, ...]) -> str:
    return f"{folder / stem}.{{{','.join(s[1:] for s in suffixes)}}}" if len(suffixes) > 1 else \
        str(folder / f"{stem}{suffixes[0]}")


class ClipResolver:
    """The one way every command finds the file of a labelled clip (index add, eval, train, fit-criteria, session).

    For a row with a path column value P, in this order:
      1. P itself when it is absolute;
      2. P relative to the labels file's folder;
      3. P relative to the clips folder (--clips);
    then (no path column, or nothing there), by the row's clip id C (a skeleton before a video at every stage):
      4. <clips>/C.<suffix>, then <clips>/<sub>/C.<suffix> for the conventional sub-folders
         skeletons/, clips/ and videos/ (so `--clips S` finds what `formscout synth --out S` wrote);
      5. anywhere below <clips>: <clips>/**/C.<suffix>, which must be unique: two different files
         with that name is an error (a wrong clip scored under an athlete's name is the worst failure).
    <clips> is --clips when given, else the labels file's folder. A row that cannot be resolved
    raises ClipNotFound naming every path tried. The tree below <clips> is listed once, on the
    first row that needs step 5.
    """

    def __init__(self, labels_file: str | Path | None = None, clips_dir: str | Path | None = None,
                 suffixes: tuple[str, ...] = CLIP_SUFFIXES) -> None:
        self.labels_dir = Path(labels_file).expanduser().parent if labels_file else None
        self.clips_dir = Path(clips_dir).expanduser() if clips_dir else None
        self.suffixes = tuple(suffixes)
        self._tree: dict[str, list[Path]] | None = None

    @property
    def base(self) -> Path | None:
        return self.clips_dir if self.clips_dir is not None else self.labels_dir

    def _listing(self) -> dict[str, list[Path]]:
        if self._tree is None:
            tree: dict[str, list[Path]] = {}
            base = self.base
            if base is not None and base.is_dir():
                for p in sorted(base.rglob("*")):
                    if p.suffix.lower() in self.suffixes and p.is_file():
                        tree.setdefault(p.stem, []).append(p)
            self._tree = tree
        return self._tree

    def resolve(self, clip_id: str, path_value: str | None = None) -> Path:
        tried: list[str] = []
        value = (path_value or "").strip()
        if value:
            try:
                p = Path(value).expanduser()
            except RuntimeError:          # "~name" of no such user: the path as written
                p = Path(value)
            candidates = [p] if p.is_absolute() else [d / p for d in (self.labels_dir, self.clips_dir) if d is not None]
            for c in candidates:
                tried.append(str(c))
                if c.is_file():
                    if c.suffix.lower() not in self.suffixes:
                        raise ClipNotFound(f"{c} is not a clip file ({', '.join(self.suffixes)})", tried)
                    return c
        base = self.base
        if base is None:
            raise ClipNotFound(f"no file for clip {clip_id}" + (f" (tried {', '.join(tried)})" if tried else "")
                               + "; give --clips DIR or a path column", tried)
        for folder in (base,) + tuple(base / s for s in CONVENTIONAL_SUBFOLDERS):
            tried.append(_brace(folder, clip_id, self.suffixes))
            for suffix in self.suffixes:
                for cand in (folder / f"{clip_id}{suffix}", folder / f"{clip_id}{suffix.upper()}"):
                    if cand.is_file():
                        return cand
        tried.append(str(base / "**" / f"{clip_id}.*"))
        found = self._listing().get(clip_id, [])
        if found:
            best = min(self.suffixes.index(p.suffix.lower()) for p in found)
            found = [p for p in found if self.suffixes.index(p.suffix.lower()) == best]
            if len(found) > 1:
                raise ClipNotFound(f"clip {clip_id}: {len(found)} files of that name below {base} "
                                   f"({', '.join(str(p) for p in found[:4])}); add a path column or point "
                                   "--clips at the folder that holds the right one", tried)
            return found[0]
        others = f" or {clip_id}.<{'|'.join(s[1:] for s in self.suffixes[1:])}>" if len(self.suffixes) > 1 else ""
        raise ClipNotFound(f"no {clip_id}{self.suffixes[0]}{others} found; tried {', '.join(tried)}", tried)


def resolve_clip(clip_id: str, path_value: str | None = None, *, labels_file: str | Path | None = None,
                 clips_dir: str | Path | None = None, suffixes: tuple[str, ...] = CLIP_SUFFIXES) -> Path:
    """One row's clip file (see ClipResolver); for many rows build one ClipResolver and reuse it."""
    return ClipResolver(labels_file, clips_dir, suffixes).resolve(clip_id, path_value)


# ----- folders FormScout owns ----------------------------------------------------------------------------
OWNER_MARKER = ".formscout-owner"   # JSON {"kind": "run_dir" | "session_dir", "id": run or session id}


def claim_folder(folder: str | Path, kind: str, owner_id: str) -> Path:
    """Make `folder` FormScout's own, atomically: created new (mkdir that fails if it exists), or an
    existing empty folder claimed by creating the marker file exclusively (O_EXCL). Two processes can
    never claim one folder; a folder holding anything is never reused. Raises FileExistsError."""
    import json
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        folder.mkdir(exist_ok=False)
    except FileExistsError:
        if not folder.is_dir() or any(p.name != OWNER_MARKER for p in folder.iterdir()):
            raise
    fd = os.open(folder / OWNER_MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps({"kind": kind, "id": owner_id}))
    return folder


def folder_owner(folder: str | Path) -> dict | None:
    """The marker of a folder FormScout claimed ({"kind", "id"}), or None."""
    import json
    try:
        data = json.loads((Path(folder) / OWNER_MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
