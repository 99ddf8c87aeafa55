"""Tables of the formats context."""

from __future__ import annotations
