"""Opening log files: compression by magic bytes, a peek at the head, and newline-aligned chunks."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

CHUNK_BYTES = 16 << 20


def compression_of(path: str | os.PathLike[str]) -> str | None:
    """The compression of a file by its first bytes (never by its name), or None."""
    with open(path, "rb") as f:
        head = f.read(4)
    for magic, codec in _MAGIC:
        if head.startswith(magic):
            return codec
    return None


def open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    """A binary stream of the file's content, decompressed on the fly when compressed."""
    codec = compression_of(path)
    if codec is None:
        return open(path, "rb")
    if not pa.Codec.is_available(codec):
        raise OSError(f"{codec} compression is not available in this pyarrow build")
    stream: BinaryIO = pa.input_stream(os.fspath(path), compression=codec)
    return stream


def open_arrow(path: str | os.PathLike[str]) -> pa.NativeFile:
    """The same as :func:`open_binary` as a pyarrow stream (for the pyarrow CSV reader)."""
    codec = compression_of(path)
    return pa.input_stream(os.fspath(path), compression=codec)


def head(path: str | os.PathLike[str], size: int = 1 << 16, longest: int = 8 << 20) -> bytes:
    """Decompressed bytes from the start of the file: ``size``, or more to end the first line (up to ``longest``)."""
    with open_binary(path) as f:
        data = bytes(f.read(size))
        while b"\n" not in data and len(data) < longest:
            more = bytes(f.read(size))
            if not more:
                break
            data += more
        return data


@dataclass(frozen=True)
class Chunk:
    """Whole lines of a file: ``data`` ends with a newline (except at the end of the file)."""

    data: memoryview
    first_line: int
    """1-based line number of the first line in ``data``."""
    lines: int
    """How many lines ``data`` holds."""


def line_chunks(stream: BinaryIO, chunk_bytes: int = CHUNK_BYTES, first_line: int = 1) -> Iterator[Chunk]:
    """Cut a stream into chunks of whole lines of about ``chunk_bytes`` (a longer line makes a bigger chunk)."""
    rest = b""
    line = first_line
    while True:
        block = bytes(stream.read(chunk_bytes))
        if not block:
            break
        data = rest + block if rest else block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        count = data.count(b"\n", 0, cut)
        yield Chunk(memoryview(data)[:cut], line, count)
        rest = data[cut:]
        line += count
    if rest:
        yield Chunk(memoryview(rest), line, 1)


def iter_lines(chunk: Chunk) -> Iterator[tuple[int, bytes]]:
    """The lines of a chunk with their 1-based numbers (line ends stripped)."""
    for offset, raw in enumerate(io.BytesIO(chunk.data)):
        yield chunk.first_line + offset, raw.rstrip(b"\r\n")
