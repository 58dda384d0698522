"""The live preview behind `gtdocs serve`: an HTTP server, a file watcher and a reload script."""

from gtdocs.serving.server import BuildState, PreviewServer

__all__ = ["BuildState", "PreviewServer"]
