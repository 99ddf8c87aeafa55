"""``python -m ribat.cli``: the same as the ``ribat`` command."""

from ribat.cli.main import main

main()
