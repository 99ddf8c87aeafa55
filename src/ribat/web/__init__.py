"""Web: the ASGI application factory, authentication, and the one place errors become HTTP.

Calls every context's service through its public ``__init__``; owns no tables.
"""

from ribat.web.app import create_app

__all__ = ["create_app"]
