"""Opening log files: compression by magic bytes, a peek at the head, byte ranges, and newline-aligned chunks."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa

from ribat.hunt.readers.base import LogRange

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

CHUNK_BYTES = 16 << 20

_POOL_CHOSEN = False


def prefer_jemalloc() -> None:
    """Make jemalloc the default Arrow memory pool of this process, once, unless the user named one
    (``ARROW_DEFAULT_MEMORY_POOL``) or this pyarrow lacks it.

    The readers allocate and free a batch's worth of buffers again and again. Measured on the hunt benchmark's
    Zeek logs, pyarrow's default pool (mimalloc) spends about 0.3 s more system time on a fresh process's first
    million records (returning memory and faulting it back); jemalloc does not, and is no slower after that."""
    global _POOL_CHOSEN
    if _POOL_CHOSEN:
        return
    _POOL_CHOSEN = True
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL") and "jemalloc" in pa.supported_memory_backends():
        pa.set_memory_pool(pa.jemalloc_memory_pool())


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


# -- byte ranges ---------------------------------------------------------------------------------

_SCAN = 1 << 16


def offset_after_lines(path: str | os.PathLike[str], lines: int) -> int:
    """The byte offset just after the first ``lines`` lines of an uncompressed file (or its size)."""
    with open(path, "rb") as f:
        for _ in range(lines):
            if not f.readline():
                break
        return f.tell()


def line_end(f: BinaryIO, offset: int, size: int) -> int:
    """The offset just after the line that holds byte ``offset - 1`` (``offset`` itself when a line ends there)."""
    if offset <= 0 or offset >= size:
        return max(0, min(offset, size))
    f.seek(offset - 1)
    position = offset - 1
    while True:
        data = f.read(_SCAN)
        if not data:
            return size
        found = data.find(b"\n")
        if found >= 0:
            return position + found + 1
        position += len(data)


def starts_a_line(path: str | os.PathLike[str], offset: int) -> bool:
    """Whether ``offset`` is 0 or just after a newline."""
    if offset == 0:
        return True
    with open(path, "rb") as f:
        f.seek(offset - 1)
        return f.read(1) == b"\n"


class _Slice(io.RawIOBase):
    """The bytes ``[start, end)`` of a file, as a readable stream."""

    def __init__(self, path: str | os.PathLike[str], start: int, end: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115  (closed by close())
        self._file.seek(start)
        self._left = max(0, end - start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        size = min(len(view), self._left)
        if size <= 0:
            return 0
        got = self._file.readinto(view[:size])
        self._left -= got
        return got

    def close(self) -> None:
        self._file.close()
        super().close()


@dataclass(frozen=True)
class Span:
    """Where a reader starts in an uncompressed file: byte offsets ``[start, end)`` of whole lines, and the
    1-based number of the line at ``start``."""

    start: int
    end: int
    first_line: int

    def open(self, path: str | os.PathLike[str]) -> BinaryIO:
        return io.BufferedReader(_Slice(path, self.start, self.end), buffer_size=1 << 20)


def span_of(part: LogRange, header_lines: int = 0) -> Span | None:
    """The lines of ``part`` after the file's first ``header_lines`` lines (read as the header, from the start of
    the file, by whichever part reads them); ``end`` is moved to the end of the line it cuts. None when the part
    holds no line past the header."""
    size = os.path.getsize(part.path)
    with open(part.path, "rb") as f:
        end = line_end(f, min(part.end, size), size)
    start, first_line = part.start, part.first_line
    if header_lines and first_line <= header_lines:
        body = offset_after_lines(part.path, header_lines)
        if body > start:
            start, first_line = body, header_lines + 1
    if start >= end:
        return None
    return Span(start, end, first_line)


def cut_lines(path: str | os.PathLike[str], block_bytes: int, chunk_bytes: int = 8 << 20) -> list[tuple[int, int, int]]:
    """Cut an uncompressed file into blocks of about ``block_bytes`` at line starts: ``(start, end, first_line)``
    each, ``first_line`` counted by reading the file up to the last cut (a line longer than a block makes that
    block longer)."""
    size = os.path.getsize(path)
    starts = [(0, 1)]
    target = block_bytes
    newlines = 0
    position = 0
    with open(path, "rb") as f:
        while target < size:
            data = f.read(chunk_bytes)
            if not data:
                break
            counted = 0
            while target < size and target < position + len(data):
                found = data.find(b"\n", max(target - 1 - position, counted))
                if found < 0:
                    break
                newlines += data.count(b"\n", counted, found + 1)
                counted = found + 1
                cut = position + counted
                if cut < size:
                    starts.append((cut, newlines + 1))
                target = cut + block_bytes
            newlines += data.count(b"\n", counted)
            position += len(data)
    ends = [start for start, _ in starts[1:]] + [size]
    return [(start, end, line) for (start, line), end in zip(starts, ends, strict=True)]


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
