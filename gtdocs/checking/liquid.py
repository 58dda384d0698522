"""A small Liquid syntax check for worker task templates.

Ground Truth runs the whole task template through Liquid before the browser receives it, and
a template that does not parse fails for every worker. This tokenizer finds what stops a
parse: an output `{{` or tag `{%` that is never closed, an empty output, an unknown tag,
a block tag (`if`, `for`, ...) without its end tag, an end or branch tag in the wrong
place. It does not evaluate expressions or filters. Stray `}}` and `%}` are text to
Liquid, so they pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BLOCK_TAGS = {"if", "unless", "case", "for", "capture", "tablerow", "raw", "comment"}
BRANCH_TAGS = {"else": {"if", "unless", "case", "for"}, "elsif": {"if", "unless"}, "when": {"case"}}
SIMPLE_TAGS = {"assign", "cycle", "break", "continue", "increment", "decrement", "include", "render",
               "echo", "liquid", "layout", "section"}
TAG_NAME = re.compile(r"\s*(\w+)")
OPENER = re.compile(r"\{\{|\{%")


@dataclass(frozen=True)
class LiquidError:
    line: int
    message: str


def check_liquid(text: str) -> list[LiquidError]:
    """Return every syntax error in a Liquid template, with its 1-based line."""
    errors: list[LiquidError] = []
    stack: list[tuple[str, int]] = []
    position = 0
    while (match := OPENER.search(text, position)) is not None:
        line = text.count("\n", 0, match.start()) + 1
        closer = "}}" if match.group() == "{{" else "%}"
        end = text.find(closer, match.end())
        next_open = OPENER.search(text, match.end())
        if end < 0 or (next_open is not None and next_open.start() < end):
            errors.append(LiquidError(line, f"'{match.group()}' is not closed by '{closer}'"))
            position = match.end()
            continue
        inner = text[match.end():end].strip("-").strip()
        position = end + 2
        if closer == "}}":
            if not inner:
                errors.append(LiquidError(line, "empty output '{{ }}'"))
            continue
        name_match = TAG_NAME.match(inner)
        name = name_match.group(1) if name_match else ""
        if name in ("raw", "comment"):
            position = _skip_literal(text, position, name, line, errors)
            continue
        _tag(name, line, stack, errors)
    for name, line in reversed(stack):
        errors.append(LiquidError(line, f"'{{% {name} %}}' is never closed by '{{% end{name} %}}'"))
    return errors


def _tag(name: str, line: int, stack: list[tuple[str, int]], errors: list[LiquidError]) -> None:
    if name in BLOCK_TAGS:
        stack.append((name, line))
    elif name.startswith("end") and name[3:] in BLOCK_TAGS:
        if stack and stack[-1][0] == name[3:]:
            stack.pop()
        elif stack:
            errors.append(LiquidError(line, f"'{{% {name} %}}' closes '{{% {stack[-1][0]} %}}' "
                                            f"opened on line {stack[-1][1]}"))
        else:
            errors.append(LiquidError(line, f"'{{% {name} %}}' has no opening '{{% {name[3:]} %}}'"))
    elif name in BRANCH_TAGS:
        if not stack or stack[-1][0] not in BRANCH_TAGS[name]:
            errors.append(LiquidError(line, f"'{{% {name} %}}' is outside " + " or ".join(
                f"'{{% {tag} %}}'" for tag in sorted(BRANCH_TAGS[name]))))
    elif name not in SIMPLE_TAGS:
        errors.append(LiquidError(line, f"unknown tag {name!r}" if name else "empty tag '{% %}'"))


def _skip_literal(text: str, position: int, name: str, line: int, errors: list[LiquidError]) -> int:
    """Skip the body of a raw or comment block, whose content Liquid does not parse."""
    end = re.compile(r"\{%-?\s*end" + name + r"\s*-?%\}").search(text, position)
    if end is None:
        errors.append(LiquidError(line, f"'{{% {name} %}}' is never closed by '{{% end{name} %}}'"))
        return len(text)
    return end.end()
