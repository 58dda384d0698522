"""The Markdown dialect of bundle bodies: CommonMark, tables, and example placements.

A placement is a line of its own, `[[id]]` or `[[good-id | bad-id]]`. It is a block
rule, so it also ends a paragraph that it follows without a blank line, and it is
ignored inside code blocks. Raw HTML is off: author text is always shown as text.

A directive for `gtdocs check` is a line of its own, `<!-- gtdocs: disable S102 -->`.
It becomes a hidden token, so it renders as nothing, and `gtdocs.checking` reads it.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock

# Any line that looks like a placement is one, so that a malformed one (`[[a | b | c]]`,
# `[[a |]]`) is reported by the source stage instead of reaching workers as text.
PLACEMENT = re.compile(r"^\[\[(.*)\]\]\s*$")
PLACEMENT_TOKEN = "gtdocs_placement"
DIRECTIVE = re.compile(r"^<!--\s*gtdocs:\s*(.*?)\s*-->\s*$")
DIRECTIVE_TOKEN = "gtdocs_directive"


def make_parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable("table")
    parser.enable("strikethrough")
    parser.block.ruler.before("paragraph", PLACEMENT_TOKEN, _placement_rule,
                              {"alt": ["paragraph", "blockquote", "list"]})
    parser.block.ruler.before("paragraph", DIRECTIVE_TOKEN, _directive_rule,
                              {"alt": ["paragraph", "blockquote", "list"]})
    return parser


def _line_rule(pattern: re.Pattern, token_type: str, meta, hidden: bool = False):
    """Return a block rule that turns a line matching `pattern` into one `token_type` token.

    `meta(match)` gives the token's meta. A hidden token renders as nothing.
    """

    def rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
        if state.is_code_block(start_line):
            return False
        begin = state.bMarks[start_line] + state.tShift[start_line]
        match = pattern.match(state.src[begin:state.eMarks[start_line]])
        if match is None:
            return False
        if silent:
            return True
        state.line = start_line + 1
        token = state.push(token_type, "", 0)
        token.map = [start_line, state.line]
        token.meta = meta(match)
        token.hidden = hidden
        return True

    return rule


_directive_rule = _line_rule(DIRECTIVE, DIRECTIVE_TOKEN, lambda match: {"text": match.group(1)}, hidden=True)
_placement_rule = _line_rule(PLACEMENT, PLACEMENT_TOKEN,
                             lambda match: {"ids": tuple(part.strip() for part in match.group(1).split("|"))})


def find_placements(parser: MarkdownIt, text: str) -> list[tuple[tuple[str, ...], int]]:
    """Return each placement's example ids and its 0-based line within `text`."""
    return [(token.meta["ids"], token.map[0]) for token in parser.parse(text) if token.type == PLACEMENT_TOKEN]
