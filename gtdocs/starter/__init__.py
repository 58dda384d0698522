"""`gtdocs new`: a starter project that builds as it is."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from gtdocs.errors import GtdocsError


def create_project(path: Path) -> list[Path]:
    """Copy the starter files into `path`; refuse to overwrite any existing file."""
    source = Path(str(resources.files("gtdocs.starter") / "files"))
    files = sorted(file for file in source.rglob("*") if file.is_file())
    targets = [path / file.relative_to(source) for file in files]
    existing = [target for target in targets if target.exists()]
    if existing:
        raise GtdocsError(f"{existing[0]}: already exists (choose an empty or new folder for the project)")
    for file, target in zip(files, targets):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target)
    return targets
