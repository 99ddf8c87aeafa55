"""Candidate indicators in unstructured threat reports (PDF, HTML, plain text). Pure: no I/O.

:func:`extract_report` reads the report's text — a PDF page by page with pdfminer.six, an
HTML page's visible text with lxml (scripts, styles and the head left out, block elements
kept apart), text as UTF-8 (else Windows-1252) — and :func:`find_candidates` looks for
indicators in it with `iocsearcher <https://github.com/malicialab/iocsearcher>`_: IPv4 and
IPv6 addresses, domains, URLs, e-mail addresses and MD5, SHA-1, SHA-256 and SHA-512 hashes.

Defanged values are refanged. iocsearcher itself rearms ``hxxp``/``hxxps``, ``[.]``, ``(.)``,
``[dot]``, ``(dot)``, ``[@]``, ``(@)``, ``[at]`` and ``(at)``; the forms it does not know are
rearmed here first (:data:`EXTRA_DEFANGS`: ``[:]``, ``[://]``, ``[/]``, ``{.}``, ``{dot}``,
``[ . ]`` with spaces, ``h**p``, ``fxp``), keeping a map back to the report's own text so that
each candidate is shown in the sentence it was written in. As iocsearcher does, addresses in
private, loopback, link-local, multicast and reserved ranges are not reported, and a domain
must end in a top-level domain of the IANA list; the names reserved for documentation and
training (``.example``, ``.test``, ``.invalid``, RFC 2606) and ``.onion`` are accepted too.

A value found several times is one :class:`Candidate`, with the sentence and position of its
first occurrence and the number of times it occurs. Nothing here publishes anything: the
candidates are held for an analyst's review (``ribat.formats.imports``).
"""

from __future__ import annotations

import bisect
import functools
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ribat.errors import ValidationError
from ribat.intel.observables import normalise

if TYPE_CHECKING:
    from iocsearcher.searcher import Searcher

__all__ = ["EXTRA_DEFANGS", "Candidate", "Report", "extract_report", "find_candidates", "refang"]

# Defanging forms iocsearcher does not rearm, and what each stands for.
EXTRA_DEFANGS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"\[\s*:\s*/\s*/\s*\]|\[\s*:\s*\]\s*//|:\s*\[\s*/\s*/\s*\]"), "://"),
    (re.compile(r"\[\s*:\s*\]"), ":"),
    (re.compile(r"\[\s*/\s*\]"), "/"),
    (re.compile(r"\{\s*\.\s*\}|\{dot\}|\[\s+\.\s*\]|\[\s*\.\s+\]|\(\s+\.\s*\)|\(\s*\.\s+\)", re.I), "."),
    (re.compile(r"\{\s*@\s*\}|\{at\}", re.I), "@"),
    (re.compile(r"\bh(?:\*\*|xx)p(?=s?://)", re.I), "http"),
    (re.compile(r"\bfxp(?=s?://)", re.I), "ftp"),
)
# The forms iocsearcher rearms, for values refanged outside a search (``refang``).
_COMMON_DEFANGS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"\[\.\]|\(\.\)|\[dot\]|\(dot\)", re.I), "."),
    (re.compile(r"\[@\]|\(@\)|\[at\]|\(at\)", re.I), "@"),
    (re.compile(r"\bh(?:xx|__)p(?=s?://)", re.I), "http"),
)

# iocsearcher's names → observable kinds of ribat.intel.observables.
_KINDS: Final = {
    "ip4": "ipv4",
    "ip6": "ipv6",
    "fqdn": "domain",
    "url": "url",
    "email": "email",
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
}
_EXTRA_TLDS: Final = ("example", "test", "invalid", "onion")
_SENTENCE_LIMIT: Final = 600


@dataclass(frozen=True)
class Candidate:
    """A value found in a report: its observable ``kind`` and normal ``value``, the ``sentence``
    of its first occurrence (white space collapsed), where that is (``offset`` in characters
    into the text of ``page``; ``page`` is 1-based for a PDF and None otherwise), how often the
    value occurs, and how it was first written (``raw``, defanged or not)."""

    kind: str
    value: str
    sentence: str
    offset: int
    page: int | None
    count: int
    raw: str


@dataclass(frozen=True)
class Report:
    """A report's format (``pdf``, ``html`` or ``text``), its title when it names one, its
    number of pages (1 unless a PDF) and the candidates found."""

    format: str
    title: str | None
    pages: int
    candidates: list[Candidate]


def _apply(rules: Sequence[tuple[re.Pattern[str], str]], text: str) -> tuple[str, list[int]]:
    """``text`` with each rule applied, and for each character of the result the index of
    the character of ``text`` it comes from."""
    origin = list(range(len(text) + 1))
    for pattern, replacement in rules:
        if pattern.search(text) is None:
            continue
        pieces: list[str] = []
        mapped: list[int] = []
        last = 0
        for m in pattern.finditer(text):
            pieces.append(text[last : m.start()])
            mapped.extend(origin[last : m.start()])
            pieces.append(replacement)
            mapped.extend([origin[m.start()]] * len(replacement))
            last = m.end()
        pieces.append(text[last:])
        mapped.extend(origin[last:])
        text = "".join(pieces)
        origin = mapped
    return text, origin


def refang(value: str) -> str:
    """``value`` with every defanging form this module knows rearmed (``hxxp://evil[.]com`` →
    ``http://evil.com``, ``user[@]example(dot)org`` → ``user@example.org``)."""
    return _apply((*EXTRA_DEFANGS, *_COMMON_DEFANGS), value)[0]


@functools.cache
def _searcher() -> Searcher:
    from iocsearcher.searcher import Searcher

    with warnings.catch_warnings():
        # iocsearcher leaves its patterns file for the garbage collector to close.
        warnings.simplefilter("ignore", ResourceWarning)
        searcher = Searcher()
    searcher.tlds.update(_EXTRA_TLDS)
    searcher.add_regexp("sha512", re.compile(r"\b([a-f0-9]{128})\b", re.I))
    return searcher


# Where sentences end: after . ! ? (and closing quotes or brackets) before white space; at a
# blank line; before a line that starts a list item or a heading.
_BOUNDARY: Final = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+(?=\S)"
    r"|\n[ \t\r\f\v]*\n"
    r"|\n(?=[ \t]*(?:[-*•+]|\d{1,3}[.)]|[=#]+)[ \t])"
)


def _boundaries(text: str) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for m in _BOUNDARY.finditer(text):
        starts.append(m.start())
        ends.append(m.end())
    return starts, ends


def _sentence(text: str, bounds: tuple[list[int], list[int]], start: int, end: int) -> str:
    starts, ends = bounds
    i = bisect.bisect_right(ends, start)  # boundaries ending at or before ``start``
    begin = ends[i - 1] if i else 0
    j = bisect.bisect_left(starts, end)  # boundaries starting at or after ``end``
    stop = starts[j] if j < len(starts) else len(text)
    if stop - begin > _SENTENCE_LIMIT:
        half = (_SENTENCE_LIMIT - (end - start)) // 2
        lo, hi = max(begin, start - max(half, 0)), min(stop, end + max(half, 0))
        piece = ("…" if lo > begin else "") + text[lo:hi] + ("…" if hi < stop else "")
    else:
        piece = text[begin:stop]
    return " ".join(piece.split())


def find_candidates(pages: Sequence[str], *, paged: bool = False) -> list[Candidate]:
    """The candidates in a report's text, given page by page (one element for a text that
    has no pages; ``paged`` says whether the elements are real pages), in order of first
    occurrence."""
    searcher = _searcher()
    found: dict[tuple[str, str], Candidate] = {}
    counts: dict[tuple[str, str], int] = {}
    for number, original in enumerate(pages, start=1):
        text, origin = _apply(EXTRA_DEFANGS, original)
        matches = searcher.remove_overlaps(searcher.search_matches(text, list(_KINDS)))
        bounds = _boundaries(original)
        for m in sorted(matches, key=lambda m: m.start_offset):
            kind = _KINDS[m.name]
            value = normalise(kind, m.value)
            if value is None:
                continue
            key = (kind, value)
            counts[key] = counts.get(key, 0) + 1
            if key in found:
                continue
            start = origin[m.start_offset]
            end = origin[m.start_offset + len(m.raw_value) - 1] + 1
            found[key] = Candidate(
                kind=kind,
                value=value,
                sentence=_sentence(original, bounds, start, end),
                offset=start,
                page=number if paged else None,
                count=0,
                raw=original[start:end],
            )
    return [Candidate(c.kind, c.value, c.sentence, c.offset, c.page, counts[key], c.raw) for key, c in found.items()]


# -- reading reports --------------------------------------------------------------------------

_HTML_HINT: Final = re.compile(rb"<!doctype\s+html|<html[\s>]|<body[\s>]|<head[\s>]|<p[\s>]|<div[\s>]", re.I)
_HTML_SUFFIXES: Final = (".html", ".htm", ".xhtml")
_TEXT_SUFFIXES: Final = (".txt", ".text", ".md", ".adoc", ".csv", ".log", ".rst")


def _format_of(payload: bytes, filename: str | None, media_type: str | None) -> str:
    head = payload[:2048]
    name = (filename or "").lower()
    kind = (media_type or "").lower()
    if b"%PDF-" in payload[:1024]:
        return "pdf"
    if "pdf" in kind or name.endswith(".pdf"):
        raise ValidationError("file", "not a PDF document (no %PDF- header)")
    if "html" in kind or name.endswith(_HTML_SUFFIXES) or _HTML_HINT.search(head):
        return "html"
    if b"\x00" in payload[:8192]:
        raise ValidationError("file", "not a PDF, an HTML page or text (binary content)")
    return "text"


def _decode(payload: bytes) -> str:
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return payload.decode("cp1252", errors="replace")


def _pdf_pages(payload: bytes) -> tuple[list[str], str | None]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser, PDFSyntaxError
    from pdfminer.psparser import PSException
    from pdfminer.utils import decode_text

    try:
        pages = [
            "\n".join(element.get_text() for element in layout if isinstance(element, LTTextContainer))
            for layout in extract_pages(io.BytesIO(payload), laparams=LAParams())
        ]
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as exc:
        raise ValidationError("file", f"not a readable PDF document: {exc or type(exc).__name__}") from None
    title: str | None = None
    try:
        info = PDFDocument(PDFParser(io.BytesIO(payload))).info
        raw = info[0].get("Title") if info else None
        if isinstance(raw, bytes):
            title = decode_text(raw).strip() or None
        elif isinstance(raw, str):
            title = raw.strip() or None
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AttributeError):
        title = None
    return pages, title


_BLOCKS: Final = frozenset(
    {
        *("address", "article", "aside", "blockquote", "caption", "dd", "details", "div", "dl", "dt"),
        *("fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6"),
        *("header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table"),
        *("tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
    }
)
_HIDDEN: Final = frozenset({"script", "style", "noscript", "template", "head", "title", "svg", "iframe", "object"})


def _html_text(payload: bytes) -> tuple[str, str | None]:
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True)
    try:
        root = lxml.html.document_fromstring(payload, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ValidationError("file", f"not a readable HTML page: {exc}") from None
    title_el = root.find(".//title")
    title = (" ".join(title_el.text_content().split()) or None) if title_el is not None else None
    parts: list[str] = []
    hidden = 0
    pre = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _HIDDEN:
                hidden += 1
            if hidden:
                continue
            if tag == "pre":
                pre += 1
            if tag == "br":
                parts.append("\n")
            elif tag in _BLOCKS:
                parts.append("\n\n")
            if el.text:
                parts.append(el.text if pre else re.sub(r"\s+", " ", el.text))
            continue
        if tag in _HIDDEN:
            hidden -= 1
        elif not hidden:
            if tag == "pre":
                pre -= 1
            if tag in _BLOCKS:
                parts.append("\n\n")
        if el.tail and not hidden and el is not root:
            parts.append(el.tail if pre else re.sub(r"\s+", " ", el.tail))
    return "".join(parts), title


def _pages(payload: bytes, filename: str | None, media_type: str | None) -> tuple[list[str], str | None, str]:
    """The report's pages of text, its title and its format. ``filename`` and ``media_type``
    are hints only (the content decides a PDF); neither is ever used as a path."""
    if not payload.strip():
        raise ValidationError("file", "is empty")
    kind = _format_of(payload, filename, media_type)
    if kind == "pdf":
        pages, title = _pdf_pages(payload)
        return pages, title, kind
    if kind == "html":
        text, title = _html_text(payload)
        return [text], title, kind
    return [_decode(payload)], None, kind


def extract_report(payload: bytes, *, filename: str | None = None, media_type: str | None = None) -> Report:
    """Read a report (PDF, HTML or text; see ``report_text``) and find its candidates."""
    pages, title, kind = _pages(payload, filename, media_type)
    return Report(kind, title, len(pages), find_candidates(pages, paged=kind == "pdf"))
