"""Small file helpers shared by the stages that write outside a build's staging folder."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename.

    A reader sees either the old file or the whole new one, never a partial write; an
    interrupted write leaves at most a `.<name>.<pid>.tmp` file beside it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
