"""Modules of the image stage; `gtdocs.images` is its public interface."""
