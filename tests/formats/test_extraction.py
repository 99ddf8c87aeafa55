"""Candidate indicators in threat reports: a PDF generated with WeasyPrint, an HTML page, text."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ribat.errors import ValidationError
from ribat.formats.extraction import Candidate, extract_report, find_candidates, refang

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

REPORT_HTML = f"""<!doctype html>
<html><head><title>Operation Sandstorm</title><style>p {{ font-size: 10pt }}</style>
<script>var beacon = "8.8.4.4";</script></head>
<body>
<h1>Operation Sandstorm</h1>
<p>The first stage downloads its payload from hxxp://evil[.]example/path over plain HTTP.
The implant then beacons to 1.2.3[.]4 every ten minutes.</p>
<p>Exfiltration used bad(dot)example(dot)org as a relay.</p>
<p style="page-break-before: always">The dropper has the SHA-256 hash {SHA256} and is signed.
Phishing mail came from user[@]example.com during March. Later mail again named
1.2.3[.]4 as the server.</p>
</body></html>
"""

EXPECTED = {
    ("url", "http://evil.example/path"): (
        "hxxp://evil[.]example/path",
        "The first stage downloads its payload from hxxp://evil[.]example/path over plain HTTP.",
    ),
    ("ipv4", "1.2.3.4"): ("1.2.3[.]4", "The implant then beacons to 1.2.3[.]4 every ten minutes."),
    ("domain", "bad.example.org"): (
        "bad(dot)example(dot)org",
        "Exfiltration used bad(dot)example(dot)org as a relay.",
    ),
    ("sha256", SHA256): (SHA256, f"The dropper has the SHA-256 hash {SHA256} and is signed."),
    ("email", "user@example.com"): ("user[@]example.com", "Phishing mail came from user[@]example.com during March."),
}


def candidates_by_value(candidates: list[Candidate]) -> dict[tuple[str, str], Candidate]:
    return {(c.kind, c.value): c for c in candidates}


@pytest.fixture(scope="module")
def report_pdf() -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import weasyprint

        return bytes(weasyprint.HTML(string=REPORT_HTML).write_pdf())


def check(candidates: list[Candidate]) -> dict[tuple[str, str], Candidate]:
    found = candidates_by_value(candidates)
    assert set(found) == set(EXPECTED), sorted(found)
    for key, (raw, sentence) in EXPECTED.items():
        assert found[key].raw == raw
        assert found[key].sentence == sentence
    return found


def test_generated_pdf_yields_each_defanged_indicator_refanged_with_its_sentence(report_pdf: bytes) -> None:
    report = extract_report(report_pdf, filename="sandstorm.pdf")
    assert report.format == "pdf"
    assert report.title == "Operation Sandstorm"
    assert report.pages == 2
    found = check(report.candidates)
    assert found[("url", "http://evil.example/path")].page == 1
    assert found[("sha256", SHA256)].page == 2
    assert found[("ipv4", "1.2.3.4")].count == 2
    assert found[("ipv4", "1.2.3.4")].page == 1  # the first occurrence is kept


def test_html_page_yields_the_visible_indicators_with_their_sentences() -> None:
    report = extract_report(REPORT_HTML.encode(), filename="report.html")
    assert report.format == "html"
    assert report.title == "Operation Sandstorm"
    found = check(report.candidates)
    assert all(c.page is None for c in report.candidates)
    assert found[("ipv4", "1.2.3.4")].count == 2
    # The script's address is not part of the text.
    assert ("ipv4", "8.8.4.4") not in found


def test_plain_text_offsets_point_at_the_value_as_written() -> None:
    text = "Notes.\n\nThe C2 is hxxps[:]//cdn{.}evil[.]example/a.js today. Also see 198.51.100.1.\n"
    report = extract_report(text.encode(), filename="notes.txt")
    assert report.format == "text"
    [url] = report.candidates  # 198.51.100.1 is a documentation (reserved) address
    assert url.value == "https://cdn.evil.example/a.js"
    assert text[url.offset : url.offset + len(url.raw)] == url.raw == "hxxps[:]//cdn{.}evil[.]example/a.js"
    assert url.sentence == "The C2 is hxxps[:]//cdn{.}evil[.]example/a.js today."


def test_iocsearcher_rearms_the_common_defanging_forms_itself() -> None:
    from iocsearcher.searcher import Searcher

    assert Searcher.rearm_url("hxxp://evil[.]example/path") == "http://evil.example/path"
    assert Searcher.rearm_fqdn("bad(dot)example(dot)org") == "bad.example.org"
    assert Searcher.rearm_ip4("1.2.3[.]4") == "1.2.3.4"
    assert Searcher.rearm_email("user[@]example.com") == "user@example.com"
    # The forms it leaves alone are rearmed by Ribat.
    assert Searcher.rearm_url("hxxp[:]//evil{.}example") != "http://evil.example"
    assert refang("hxxp[:]//evil{.}example") == "http://evil.example"
    assert refang("fxp://files[.]example") == "ftp://files.example"


def test_long_sentences_are_cut_around_the_value() -> None:
    filler = " ".join(["word"] * 400)
    [candidate] = find_candidates([f"{filler} evil.example {filler}"])
    assert "evil.example" in candidate.sentence
    assert len(candidate.sentence) <= 602
    assert candidate.sentence.startswith("…") and candidate.sentence.endswith("…")


def test_unreadable_uploads_are_refused_with_a_reason() -> None:
    with pytest.raises(ValidationError, match="is empty"):
        extract_report(b"   ")
    with pytest.raises(ValidationError, match="binary content"):
        extract_report(b"\x00\x01\x02garbage", filename="x.bin")
    with pytest.raises(ValidationError, match="no %PDF- header"):
        extract_report(b"hello", filename="report.pdf")
    with pytest.raises(ValidationError, match="not a readable PDF"):
        extract_report(b"%PDF-1.7\n% truncated")


def test_shared_asciidoc_write_up(data_dir: Path) -> None:
    payload = (data_dir / "cti" / "iocs" / "eset-turla-README.adoc").read_bytes()
    report = extract_report(payload, filename="README.adoc")
    kinds = {c.kind for c in report.candidates}
    assert {"domain", "sha1"} <= kinds
    for c in report.candidates:
        assert c.raw and c.sentence and c.count >= 1
        assert c.raw.replace("[.]", ".").lower() in c.sentence.replace("[.]", ".").lower()
