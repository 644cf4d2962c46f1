"""An exclusive lock on a folder for processes on one machine (`fcntl.flock` on a lock file in it): held until the
block ends, released by the kernel if its process dies, so a killed run never leaves a folder locked."""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def folder_lock(folder: Path, name: str = ".lock") -> Iterator[None]:
    """Hold the folder's lock (`name` in it, created when missing) for the block; waits for another holder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
