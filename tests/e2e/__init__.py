"""End-to-end tests: a real ``ribat serve`` process on 127.0.0.1, driven by peers' clients.

A package, so that its ``conftest.py`` is imported as ``e2e.conftest`` and does not take
the module name ``conftest`` that other tests import their shared helpers from.
"""
