"""``python -m ribat``: the same as the ``ribat`` command."""

from ribat.cli import main

main()
