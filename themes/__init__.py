"""Themes shipped with gtdocs; installed as the package `gtdocs.themes`."""
