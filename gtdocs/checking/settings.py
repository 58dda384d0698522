"""Validate the `[check]` table of gtdocs.toml into the settings of each rule.

    [check]
    disable = ["S104"]          # rule ids turned off for the whole project

    [check.rules.S102]
    max = 25                    # any option the rule declares
    severity = "error"          # error, warning or info

Every unknown key, unknown rule id or bad value is a Problem naming the key, the value and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gtdocs.checking.rules import RULES, SEVERITIES, Rule
from gtdocs.config import CONFIG_NAME
from gtdocs.errors import Problem, raise_if_any

CHECK_KEYS = ("disable", "rules")


@dataclass(frozen=True)
class CheckSettings:
    disabled: frozenset[str] = frozenset()
    severities: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict[str, float]] = field(default_factory=dict)

    def enabled(self, rule_id: str) -> bool:
        return rule_id not in self.disabled

    def severity(self, rule_id: str) -> str:
        return self.severities.get(rule_id, RULES[rule_id].severity)

    def option(self, rule_id: str, name: str):
        return self.options.get(rule_id, {}).get(name, RULES[rule_id].options[name].default)


def known_ids() -> str:
    return ", ".join(RULES)


def parse_settings(table: dict) -> CheckSettings:
    """Validate the raw `[check]` table; raise InputError listing every problem."""
    problems: list[Problem] = []
    for key in table:
        if key not in CHECK_KEYS:
            problems.append(Problem(CONFIG_NAME, None, f"check.{key}", "unknown setting",
                                    "known settings here: " + ", ".join(CHECK_KEYS)))
    disabled = _disabled(table.get("disable", []), problems)
    severities: dict[str, str] = {}
    options: dict[str, dict[str, float]] = {}
    rules_table = table.get("rules", {})
    if not isinstance(rules_table, dict):
        problems.append(Problem(CONFIG_NAME, None, "check.rules", f"{rules_table!r} is not a table",
                                "write each rule's settings as [check.rules.S102]"))
        rules_table = {}
    for rule_id, values in rules_table.items():
        key = f"check.rules.{rule_id}"
        rule = RULES.get(rule_id)
        if rule is None:
            problems.append(Problem(CONFIG_NAME, None, key, f"unknown rule id {rule_id!r}",
                                    "use one of: " + known_ids()))
            continue
        if not isinstance(values, dict):
            problems.append(Problem(CONFIG_NAME, None, key, f"{values!r} is not a table",
                                    f"write it as [check.rules.{rule_id}] with one option a line"))
            continue
        _rule_values(rule, values, key, severities, options, problems)
    raise_if_any(problems)
    return CheckSettings(frozenset(disabled), severities, options)


def _disabled(value, problems: list[Problem]) -> list[str]:
    if not isinstance(value, list):
        problems.append(Problem(CONFIG_NAME, None, "check.disable", f"{value!r} is not a list",
                                'write it as disable = ["S104", ...]'))
        return []
    disabled = []
    for index, rule_id in enumerate(value):
        if rule_id not in RULES:
            problems.append(Problem(CONFIG_NAME, None, f"check.disable[{index}]", f"unknown rule id {rule_id!r}",
                                    "use one of: " + known_ids()))
        else:
            disabled.append(rule_id)
    return disabled


def _rule_values(rule: Rule, values: dict, key: str, severities: dict, options: dict,
                 problems: list[Problem]) -> None:
    known = ", ".join(["severity", *rule.options])
    for name, value in values.items():
        if name == "severity":
            if value not in SEVERITIES:
                problems.append(Problem(CONFIG_NAME, None, f"{key}.severity", f"{value!r} is not a severity",
                                        "use one of: " + ", ".join(SEVERITIES)))
            else:
                severities[rule.id] = value
            continue
        option = rule.options.get(name)
        if option is None:
            problems.append(Problem(CONFIG_NAME, None, f"{key}.{name}", "unknown option",
                                    f"options of {rule.id}: {known}"))
            continue
        message = _option_error(option, value)
        if message:
            problems.append(Problem(CONFIG_NAME, None, f"{key}.{name}", f"{value!r} {message}",
                                    f"set it to the {option.help} (default {option.default})"))
            continue
        options.setdefault(rule.id, {})[name] = value


def _option_error(option, value) -> str | None:
    numeric = (int,) if option.integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric):
        return "is not a whole number" if option.integer else "is not a number"
    if value < option.minimum:
        return f"is below the minimum of {option.minimum:g}"
    if option.maximum is not None and value > option.maximum:
        return f"is above the maximum of {option.maximum:g}"
    return None
