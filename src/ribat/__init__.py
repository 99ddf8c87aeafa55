"""Ribat: a platform for cybersecurity capacity building among a coalition of nations.

Contexts (one sub-package each, see docs/architecture.md):

- ``accounts``  organisations, users, API keys, roles, trust circles
- ``intel``     the STIX 2.1 store, TLP 2.0 policy, validation
- ``taxii``     the TAXII 2.1 HTTP API over ``intel`` (protocol adapter only)
- ``web``       the ASGI application factory; the one place errors become HTTP
- ``cli``       the ``ribat`` command
- ``db``        engine, sessions and migrations (plumbing, no domain rules)
"""

__version__ = "0.1.0"
