"""Dotted-quad IPv4 addresses in Arrow text arrays, as integers: the keys the hunt's IPv4 look-ups use.

An address column is looked up in two ways: equality with the indicators' literal addresses, and membership of
their networks. Both run on integers, in numpy: a sorted array of the literal addresses (made once, when the
indicators are compiled) and the merged spans of the networks. Hashing text instead would rebuild a hash table
of every literal on each batch.

The integers are only keys of a prefilter. A value is a *dotted quad* when it is four runs of digits joined by
dots; octets above 255 and leading zeros are left in, and every value found this way is then compared exactly,
as text. A value that is not a dotted quad gets no integer and is looked up another way.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DOTTED_QUAD", "ipv4_numbers"]

DOTTED_QUAD = r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$"

_NONE = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64))


def ipv4_numbers(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The positions in ``array`` of its dotted-quad values, and each one's address as an integer.

    The values are split on dots; those of four parts are cast to integers. When some four-part value is not
    four numbers (a host name such as ``a.b.c.d``), the four-part values are narrowed to the dotted quads by a
    regular expression first."""
    if len(array) == 0:
        return _NONE
    parts = pc.split_pattern(array, ".")
    four = pc.fill_null(pc.equal(pc.list_value_length(parts), 4), False)
    rows = np.flatnonzero(four.to_numpy(zero_copy_only=False))
    if not rows.size:
        return _NONE
    if rows.size < len(array):
        parts = parts.take(pa.array(rows))
    try:
        octets = pc.cast(pc.list_flatten(parts), pa.uint64())
    except pa.ArrowInvalid:
        quad = pc.fill_null(pc.match_substring_regex(array, DOTTED_QUAD), False)
        rows = np.flatnonzero(quad.to_numpy(zero_copy_only=False))
        if not rows.size:
            return _NONE
        octets = pc.cast(pc.list_flatten(pc.split_pattern(array.take(pa.array(rows)), ".")), pa.uint64())
    o = octets.to_numpy(zero_copy_only=False).reshape(-1, 4)
    return rows.astype(np.int64), (o[:, 0] << 24) | (o[:, 1] << 16) | (o[:, 2] << 8) | o[:, 3]
