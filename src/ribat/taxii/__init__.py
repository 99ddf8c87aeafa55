"""TAXII 2.1 (OASIS, 2021) over the intel context: a protocol adapter with no rules of its own.

Serves discovery at ``/taxii2/`` and one API root at ``/taxii2/<root>/`` with all eleven
endpoints of TAXII 2.1 section 4-5. Calls ``ribat.intel`` and ``ribat.accounts`` through
their public names; errors are mapped to HTTP by ``ribat.web.errors``.
"""

from ribat.taxii.api import MEDIA_TYPE_TAXII21, router

__all__ = ["MEDIA_TYPE_TAXII21", "router"]
