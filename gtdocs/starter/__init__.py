"""`gtdocs new`: a starter project that builds as it is."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from gtdocs.errors import GtdocsError


def create_project(path: Path) -> list[Path]:
    """Copy the starter files into `path`; refuse to overwrite anything, and leave nothing on failure."""
    source = Path(str(resources.files("gtdocs.starter") / "files"))
    files = sorted(file for file in source.rglob("*") if file.is_file())
    targets = [path / file.relative_to(source) for file in files]
    # lexists: a dangling symbolic link would otherwise be followed and written outside the project.
    existing = [target for target in targets if os.path.lexists(target)]
    if existing:
        raise GtdocsError(f"{existing[0]}: already exists (choose an empty or new folder for the project)")
    created: list[Path] = []
    try:
        for file, target in zip(files, targets):
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("xb") as stream:
                created.append(target)
                stream.write(file.read_bytes())
    except OSError as error:
        for target in created:
            target.unlink(missing_ok=True)
        raise GtdocsError(f"{error.filename or path}: cannot create the starter project: {error.strerror} "
                          "(choose a folder you can write to, with no file where a folder is needed)") from error
    return targets
