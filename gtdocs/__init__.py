"""gtdocs: worker instructions for labeling jobs, built from Markdown."""

__version__ = "0.1.0"
