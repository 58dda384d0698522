"""YAML front matter as plain Python values that remember their source lines.

PyYAML's composer keeps each node's position. The constructor below turns the node
tree into dicts, lists and scalars and records the 1-based line of every key path,
so an error can point at `bundles/flowers.md:14` rather than at the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml


@dataclass
class Located:
    """Front-matter data with the source line of each key path.

    A key path is a tuple such as ("examples", 2, "verdict").
    """

    value: object
    lines: dict[tuple, int] = field(default_factory=dict)

    def line(self, path: tuple, fallback: int | None = None) -> int | None:
        # A path without its own entry (a default) falls back to its nearest parent.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), fallback)


# libyaml's composer is about 20x faster than the pure-Python one and keeps the same marks;
# PyYAML is built without it on some platforms.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_scalar_loader = yaml.SafeLoader("")


class FrontMatterError(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


# Limits that keep hostile front matter from exhausting the process: libyaml's composer
# recurses once per nesting level (200,000 levels crash it), and aliases can expand a few
# hundred bytes into billions of values. Real front matter nests 5 levels and has a few
# hundred values.
MAX_DEPTH = 50
MAX_VALUES = 100_000
MAX_INDENT = 200   # columns; block nesting deeper than MAX_DEPTH needs more than this


def load_located(text: str, first_line: int) -> Located:
    """Parse one YAML document; `first_line` is the file line where `text` starts."""
    _check_nesting(text, first_line)
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + mark.line if mark else None
        raise FrontMatterError(f"invalid YAML: {error.problem or error.context}", line) from error
    except yaml.YAMLError as error:
        raise FrontMatterError(f"invalid YAML: {error}", None) from error
    located = Located(None)
    if node is not None:
        located.value = _Constructor(located.lines, first_line).construct(node, ())
    return located


def _check_nesting(text: str, first_line: int) -> None:
    """Reject flow ([ {) or block nesting deeper than MAX_DEPTH before the composer reads it."""
    depth = 0
    for offset, line in enumerate(text.splitlines()):
        indent = len(line) - len(line.lstrip(" "))
        if indent > MAX_INDENT:
            raise FrontMatterError(f"indented {indent} columns, more than {MAX_INDENT}", first_line + offset)
        quote = None
        for char in line:
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#":
                break
            elif char in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    raise FrontMatterError(f"nested more than {MAX_DEPTH} levels deep", first_line + offset)
            elif char in "]}":
                depth = max(0, depth - 1)



class _Constructor:
    """Turns composed nodes into plain values, recording each key path's line."""

    def __init__(self, lines: dict, first_line: int):
        self.lines = lines
        self.first_line = first_line
        self.values = 0

    def construct(self, node: yaml.Node, path: tuple):
        line = self.first_line + node.start_mark.line
        self.values += 1
        if self.values > MAX_VALUES:
            raise FrontMatterError(f"expands to more than {MAX_VALUES:,} values (through YAML aliases?)", line)
        if len(path) > MAX_DEPTH:
            raise FrontMatterError(f"nested more than {MAX_DEPTH} levels deep", line)
        self.lines[path] = line
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.construct(item, path + (index,)) for index, item in enumerate(node.value)]
        try:
            return _scalar_loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            raise FrontMatterError(f"invalid YAML value: {error.problem}", line) from error

    def mapping(self, node: yaml.MappingNode, path: tuple) -> dict:
        result = {}
        for key_node, value_node in node.value:
            key_line = self.first_line + key_node.start_mark.line
            key = _scalar_loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise FrontMatterError("a key must be a plain name", key_line)
            if key in result:
                raise FrontMatterError(f"duplicate key '{key}'", key_line)
            result[key] = self.construct(value_node, path + (key,))
            # Point at the key rather than at its value, which may start on the next line.
            self.lines[path + (key,)] = key_line
        return result
