"""Tables of the feeds context."""

from __future__ import annotations
