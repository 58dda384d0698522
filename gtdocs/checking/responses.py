"""Seconds per task from a Ground Truth job's worker responses (R101).

Ground Truth writes one JSON file per data object and iteration under
`annotations/worker-response/iteration-<n>/<object index>/<timestamp>.json`, each with an
`answers` list that has `timeSpentInSeconds` for every worker who submitted the task.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from gtdocs.checking.rules import RULES, Finding
from gtdocs.errors import Problem, raise_if_any


def read_task_seconds(path: Path, display: str) -> list[float]:
    """Return every `timeSpentInSeconds` in the response file or folder; raise InputError on bad files."""
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    problems: list[Problem] = []
    seconds: list[float] = []
    for file in files:
        name = file.relative_to(path).as_posix() if path.is_dir() else display
        name = f"{display}/{name}" if path.is_dir() else name
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            problems.append(Problem(name, None, None, f"cannot be read as JSON ({error})",
                                    "pass the worker-response folder of a Ground Truth job's output"))
            continue
        answers = data.get("answers") if isinstance(data, dict) else None
        if not isinstance(answers, list):
            problems.append(Problem(name, None, "answers", "is missing or not a list",
                                    "pass Ground Truth worker-response files, which hold an 'answers' list"))
            continue
        for index, answer in enumerate(answers):
            value = answer.get("timeSpentInSeconds") if isinstance(answer, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                problems.append(Problem(name, None, f"answers[{index}].timeSpentInSeconds",
                                        f"{value!r} is not a number of seconds",
                                        "use the worker-response files as Ground Truth wrote them"))
                continue
            seconds.append(float(value))
    if not files:
        problems.append(Problem(display, None, None, "contains no .json worker-response files",
                                "pass the job's annotations/worker-response folder"))
    raise_if_any(problems)
    return seconds


def task_time_finding(seconds: list[float], display: str) -> Finding:
    count = len(seconds)
    median = statistics.median(seconds)
    # The inclusive method interpolates between the observed values, as numpy.percentile does by default.
    p90 = statistics.quantiles(seconds, n=10, method="inclusive")[-1] if count > 1 else seconds[0]
    return Finding("R101", RULES["R101"].severity, display, None,
                   f"median {median:.1f} s and 90th percentile {p90:.1f} s per task, "
                   f"over {count} worker response{'s' if count != 1 else ''}",
                   "a 90th percentile far above the median points at tasks that the examples do not cover")
