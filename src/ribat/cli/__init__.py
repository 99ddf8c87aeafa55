"""The ``ribat`` command. Calls the contexts' services through ``ribat.hub.Hub``."""

from ribat.cli.main import app, main

__all__ = ["app", "main"]
