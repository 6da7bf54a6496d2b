"""The ``harvest`` command line."""

from harvest.cli.app import main

__all__ = ["main"]
