"""Comments that turn rules off for one place in a bundle.

In the Markdown body, a line `<!-- gtdocs: disable S102 T101 -->` turns the named rules off
for the block that follows it (a paragraph, list, heading, table or placement). The Markdown
parser turns that line into a hidden token, so workers never see it.

In the front matter, a YAML comment `# gtdocs: disable E103` turns them off for the next line,
or for the whole example when the next line starts one (`- id: ...`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gtdocs.checking.rules import RULES, Finding
from gtdocs.markdown import DIRECTIVE_TOKEN, make_parser
from gtdocs.source import Bundle

FRONT_DIRECTIVE = re.compile(r"^\s*#\s*gtdocs:\s*(.*?)\s*$")
RULE_IDS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Directive:
    rules: frozenset[str]
    first: int   # first and last file line that the directive covers
    last: int

    def covers(self, finding: Finding) -> bool:
        return finding.rule in self.rules and finding.line is not None and self.first <= finding.line <= self.last


def read_directives(bundle: Bundle) -> tuple[list[Directive], list[Finding]]:
    """Return the bundle's directives, and a C101 finding for each one that cannot be read."""
    directives: list[Directive] = []
    problems: list[Finding] = []
    for line, text, first, last in _body_directives(bundle) + _front_directives(bundle):
        rules = _parse(text, bundle.display_path, line, problems)
        if rules:
            directives.append(Directive(rules, first, last))
    return directives, problems


def _parse(text: str, file: str, line: int, problems: list[Finding]) -> frozenset[str]:
    action, _, rest = text.partition(" ")
    ids = [rule_id for rule_id in RULE_IDS.split(rest.strip()) if rule_id]
    if action != "disable" or not ids:
        problems.append(Finding("C101", RULES["C101"].severity, file, line,
                                f"cannot read the gtdocs directive {text!r}",
                                "write it as 'gtdocs: disable S102' with one or more rule ids"))
        return frozenset()
    unknown = [rule_id for rule_id in ids if rule_id not in RULES]
    for rule_id in unknown:
        problems.append(Finding("C101", RULES["C101"].severity, file, line,
                                f"unknown rule id {rule_id!r} in a gtdocs directive",
                                "use one of: " + ", ".join(RULES)))
    return frozenset(rule_id for rule_id in ids if rule_id in RULES)


def _body_directives(bundle: Bundle) -> list[tuple[int, str, int, int]]:
    found = []
    parser = make_parser()
    for text, first_line in ((bundle.short_markdown, bundle.short_line), (bundle.full_markdown, bundle.full_line)):
        tokens = parser.parse(text)
        for index, token in enumerate(tokens):
            if token.type != DIRECTIVE_TOKEN:
                continue
            line = first_line + token.map[0]
            following = next((other for other in tokens[index + 1:]
                              if other.map and other.type != DIRECTIVE_TOKEN and other.level <= token.level), None)
            if following is None:
                found.append((line, token.meta["text"], line, line))
            else:
                found.append((line, token.meta["text"], first_line + following.map[0],
                              first_line + following.map[1] - 1))
    return found


def _front_directives(bundle: Bundle) -> list[tuple[int, str, int, int]]:
    try:
        lines = bundle.path.read_text(encoding="utf-8-sig").splitlines()
    except OSError:
        return []
    end = bundle.short_line - 2   # 0-based index of the closing '---'
    entries = sorted(line for path, line in bundle.lines.items()
                     if len(path) == 2 and path[0] == "examples" and isinstance(path[1], int))
    found = []
    for index in range(1, min(end, len(lines))):
        match = FRONT_DIRECTIVE.match(lines[index])
        if match is None:
            continue
        target = next((number for number in range(index + 1, end)
                       if lines[number].strip() and not lines[number].lstrip().startswith("#")), None)
        if target is None:
            continue
        first = target + 1
        last = first
        if first in entries:
            later = [line for line in entries if line > first]
            last = (later[0] - 1) if later else end
        found.append((index + 1, match.group(1), first, last))
    return found
