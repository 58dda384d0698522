"""YAML front matter as plain Python values that remember their source lines.

PyYAML's composer keeps each node's position; the constructor below turns the node
tree into dicts, lists and scalars while recording the 1-based line of every key path,
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


def load_located(text: str, first_line: int) -> Located:
    """Parse one YAML document; `first_line` is the file line where `text` starts."""
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
        located.value = _construct(node, (), located.lines, first_line)
    return located



def _construct(node: yaml.Node, path: tuple, lines: dict, first_line: int):
    lines[path] = first_line + node.start_mark.line
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = _scalar_loader.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise FrontMatterError("a key must be a plain name", first_line + key_node.start_mark.line)
            if key in result:
                raise FrontMatterError(f"duplicate key '{key}'", first_line + key_node.start_mark.line)
            result[key] = _construct(value_node, path + (key,), lines, first_line)
            # Point at the key rather than at its value, which may start on the next line.
            lines[path + (key,)] = first_line + key_node.start_mark.line
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (index,), lines, first_line) for index, item in enumerate(node.value)]
    try:
        return _scalar_loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as error:
        raise FrontMatterError(f"invalid YAML value: {error.problem}", lines[path]) from error
