"""The rules of `gtdocs check`; `gtdocs.check` is the public interface.

One module per group of rules: `text` (wording of the short and full instructions),
`examples` (which examples are shown and what they show), `platform` (limits of Ground
Truth and of the template). `rules` declares every rule with its defaults, `settings`
validates the `[check]` table of gtdocs.toml, and `directives` reads the comments that
turn a rule off for one place.
"""
