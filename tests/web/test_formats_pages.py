"""The import, report-extraction and export pages: in three languages, for the right users only,
with the hub's services behind them (what a form does is checked in the store, not on the page)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ribat.formats.exports import _REASONS
from ribat.formats.imports import Imports
from ribat.intel import ObjectFilter
from ribat.intel.warninglists import Warninglist, WarninglistIndex
from ribat.web.ui.i18n import translator
from ribat.web.ui.pages_formats import SKIP_REASONS, highlight
from support import World, indicator

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

REPORT = b"""<html><head><title>Operation Sandfox</title></head><body>
<h1>Operation Sandfox</h1>
<p>The loader fetches its second stage from hxxp://loader.sandfox[.]example/stage2.bin over plain HTTP.</p>
<p>Stolen files are sent to 45.9.148[.]12 every hour.</p>
<p>A backup domain, mirror.sandfox[.]example, answered once.</p>
</body></html>"""

CSV = b"host,score\nc2.sandfox.example,80\nnot a value at all,10\n45.9.148.13,55\n"


def _ids(hub: Any, email: str, collection: str = "shared", **flt: Any) -> set[str]:
    page = hub.intel.objects(hub.accounts.principal_for(email), collection, ObjectFilter(**flt), limit=1000)
    return {meta.object_id for meta in page.metas}


def _values(hub: Any, email: str) -> set[str]:
    page = hub.intel.objects(
        hub.accounts.principal_for(email), "shared", ObjectFilter(types=("indicator",)), limit=1000
    )
    return {
        p
        for body in page.bodies
        for p in re.findall(r"= '([^']+)'", body.decode() if isinstance(body, bytes) else body)
    }


def _location_id(response: Any, prefix: str) -> str:
    assert response.status_code == 303, response.text[:2000]
    location: str = response.headers["location"]
    assert location.startswith(prefix), location
    return location[len(prefix) :].split("?")[0]


def _import(b: Any, kind: str, filename: str, data: bytes, **fields: str) -> Any:
    form = {"kind": kind, "collection": "shared", **fields}
    return b.post("/imports", form, files={"file": (filename, data, "application/octet-stream")})


# -- every page, three languages ---------------------------------------------------------------


def test_pages_need_a_session(browser: Any) -> None:
    b = browser()
    for path in ["/imports", "/imports/x", "/extractions", "/extractions/x", "/exports", "/exports/download"]:
        response = b.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_pages_render_in_arabic_english_and_french(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    run_id = _location_id(_import(b, "csv", "hosts.csv", CSV, map_value="host", map_confidence="score"), "/imports/")
    extraction_id = _location_id(
        b.post("/extractions", {"collection": "shared"}, files={"file": ("sandfox.html", REPORT, "text/html")}),
        "/extractions/",
    )
    pages = {
        "/imports": ("Imports", "الاستيراد", "Importations"),
        f"/imports/{run_id}": ("Import report", "تقرير الاستيراد", "Rapport d’importation"),
        "/extractions": ("Report extraction", "استخراج المؤشرات من التقارير", "Extraction depuis les rapports"),
        f"/extractions/{extraction_id}": ("Review a report", "مراجعة تقرير", "Revue d’un rapport"),
        "/exports": ("Exports", "التصدير", "Exportations"),
        "/exports?collection=shared&format=zeek&preview=1": (
            "What the export holds",
            "محتوى التصدير",
            "Contenu de l’export",
        ),
    }
    for index, lang in enumerate(("en", "ar", "fr")):
        b.post("/language", {"lang": lang, "next": "/"})
        for path, titles in pages.items():
            response = b.get(path)
            assert response.status_code == 200, (lang, path, response.text[:1000])
            direction = "rtl" if lang == "ar" else "ltr"
            assert f'<html lang="{lang}" dir="{direction}">' in response.text, (lang, path)
            assert titles[index] in response.text, (lang, path, titles[index])
    arabic = b.get("/imports").text  # the last language is French; the labels differ per language
    assert "Type de chaque valeur" in arabic
    b.post("/language", {"lang": "ar", "next": "/"})
    arabic = b.get("/imports").text
    assert "الاستيراد والتصدير" in arabic and "نوع الملف" in arabic and "عمود القيمة" in arabic


# -- imports -------------------------------------------------------------------------------------


def test_csv_import_through_the_form_stores_indicators_and_reports_the_bad_row(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = _import(
        b, "csv", "hosts.csv", CSV, name="Sandfox hosts", map_value="host", map_confidence="score", tlp="green"
    )
    run_id = _location_id(response, "/imports/")
    assert {"c2.sandfox.example", "45.9.148.13"} <= _values(world.hub, "alice@a.example")
    page = b.get(f"/imports/{run_id}")
    assert page.status_code == 200
    text = page.text
    assert "Imported: 2 stored, 0 merged, 0 failed, 1 lost." in text  # the flash
    assert "<strong>2</strong> stored" in text and "<strong>1</strong> lost in conversion" in text
    assert "line 3" in text and "not a value at all" in text  # the loss: where and the value
    listing = b.get("/imports").text
    assert "Sandfox hosts" in listing and f'href="/imports/{run_id}"' in listing


def test_stix_import_report_shows_each_failed_object_with_its_reason(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    bad = indicator(2, pattern="[ipv4-addr:value = ", tlp_ref=GREEN)
    bundle = {"type": "bundle", "id": "bundle--9c0a6a4c-1f65-4f4c-a5a5-7f0f2b8f6d11", "objects": [indicator(1), bad]}
    run_id = _location_id(_import(b, "stix", "bundle.json", json.dumps(bundle).encode()), "/imports/")
    assert indicator(1)["id"] in _ids(world.hub, "alice@a.example")
    assert bad["id"] not in _ids(world.hub, "alice@a.example")
    text = b.get(f"/imports/{run_id}").text
    assert bad["id"] in text
    failure_row = text[text.index(bad["id"]) :]
    assert "pattern" in failure_row[:2000].lower()  # the reason names what is wrong


def test_another_organisation_cannot_open_a_run(world: World, browser: Any) -> None:
    alice = browser("alice@a.example")
    run_id = _location_id(_import(alice, "ioc-list", "c2.txt", b"c2.sandfox.example\n"), "/imports/")
    bob = browser("bob@b.example")
    assert bob.get(f"/imports/{run_id}").status_code == 404
    assert run_id not in bob.get("/imports").text
    admin = browser("admin@hub.example")
    assert admin.get(f"/imports/{run_id}").status_code == 200


def test_a_bad_mapping_is_shown_at_its_field_and_imports_nothing(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = _import(b, "csv", "hosts.csv", CSV, map_value="hostname")
    assert response.status_code == 400
    assert 'id="error-map"' in response.text and "hostname" in response.text
    assert 'aria-invalid="true" aria-describedby="error-map"' in response.text
    assert 'value="hostname"' in response.text  # the form keeps what was typed
    response = _import(b, "csv", "hosts.csv", CSV, delimiter="semicolon", header="maybe")
    assert response.status_code == 400 and 'id="error-header"' in response.text
    response = _import(b, "misp", "event.json", b"not json")
    assert response.status_code == 400 and 'id="error-file"' in response.text
    principal = world.principal("alice@a.example")
    assert Imports(world.hub.intel, world.hub.db).runs(principal).total == 0


def test_import_form_needs_the_csrf_token_and_a_writer(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = b.post("/imports", {"kind": "ioc-list", "collection": "shared"}, csrf=False, files={"file": ("a", b"x")})
    assert response.status_code == 403
    reader = browser("anna@a.example")
    page = reader.get("/imports")
    assert page.status_code == 200 and 'action="/imports"' not in page.text
    response = _import(reader, "ioc-list", "c2.txt", b"c2.sandfox.example\n")
    assert response.status_code == 400 and 'id="error-collection"' in response.text


def test_import_list_is_paged(world: World, browser: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import ribat.web.ui.pages_formats as pages

    monkeypatch.setattr(pages, "RUNS_PER_PAGE", 2)
    b = browser("alice@a.example")
    for n in range(3):
        _location_id(_import(b, "ioc-list", f"list-{n}.txt", f"c{n}.sandfox.example\n".encode()), "/imports/")
    first, second = b.get("/imports").text, b.get("/imports?page=2").text
    assert "list-2.txt" in first and "list-1.txt" in first and "list-0.txt" not in first
    assert "list-0.txt" in second and 'href="/imports?page=1"' in second


# -- report extraction ---------------------------------------------------------------------------


def test_extraction_review_publishes_the_accepted_and_keeps_the_rejected(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = b.post("/extractions", {"collection": "shared"}, files={"file": ("sandfox.html", REPORT, "text/html")})
    extraction_id = _location_id(response, "/extractions/")
    page = b.get(f"/extractions/{extraction_id}").text
    # The sentence as written, with the (defanged) value highlighted.
    assert 'Stolen files are sent to <mark dir="ltr">45.9.148[.]12</mark> every hour.' in page
    imports = Imports(world.hub.intel, world.hub.db)
    extraction = imports.extraction(world.principal("alice@a.example"), extraction_id)
    by_value = {c.value: c.id for c in extraction.candidates}
    assert set(by_value) == {"http://loader.sandfox.example/stage2.bin", "45.9.148.12", "mirror.sandfox.example"}
    response = b.post(
        f"/extractions/{extraction_id}/review",
        {
            "accept": [by_value["45.9.148.12"], by_value["mirror.sandfox.example"]],
            "reject": [by_value["http://loader.sandfox.example/stage2.bin"]],
            "tlp": "green",
        },
    )
    assert response.status_code == 303
    values = _values(world.hub, "alice@a.example")
    assert {"45.9.148.12", "mirror.sandfox.example"} <= values
    assert "http://loader.sandfox.example/stage2.bin" not in values
    after = b.get(response.headers["location"]).text
    assert "Published by this review" in after and "2 published, 1 rejected" in after
    reviewed = imports.extraction(world.principal("alice@a.example"), extraction_id)
    status = {c.value: c.status for c in reviewed.candidates}
    assert status == {
        "45.9.148.12": "accepted",
        "mirror.sandfox.example": "accepted",
        "http://loader.sandfox.example/stage2.bin": "rejected",
    }
    for c in reviewed.candidates:
        if c.object_id:
            assert f'href="/objects/{c.object_id}"' in after
    # Bob's organisation sees neither the extraction nor its list entry.
    bob = browser("bob@b.example")
    assert bob.get(f"/extractions/{extraction_id}").status_code == 404
    assert extraction_id not in bob.get("/extractions").text
    assert extraction_id in b.get("/extractions").text


def test_a_review_that_names_nothing_is_shown_on_the_page(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = b.post("/extractions", {"collection": "shared"}, files={"file": ("sandfox.html", REPORT, "text/html")})
    extraction_id = _location_id(response, "/extractions/")
    response = b.post(f"/extractions/{extraction_id}/review", {"tlp": ""})
    assert response.status_code == 400
    assert 'id="error-candidates"' in response.text and "at least one candidate" in response.text
    response = b.post("/extractions", {"collection": "shared"}, files={"file": ("empty.txt", b"", "text/plain")})
    assert response.status_code == 400 and 'id="error-file"' in response.text


# -- exports -------------------------------------------------------------------------------------


def _export_world(world: World) -> None:
    world.hub.intel.warninglists = WarninglistIndex([Warninglist("Public resolvers", 1, "", "cidr", ("8.8.8.0/24",))])
    alice, bob = world.principal("alice@a.example"), world.principal("bob@b.example")
    mine = indicator(10, tlp_ref=GREEN, pattern="[ipv4-addr:value = '45.9.148.12']")
    flagged = indicator(11, tlp_ref=GREEN, pattern="[ipv4-addr:value = '8.8.8.8']")
    world.hub.intel.ingest(alice, "shared", {"objects": [mine, flagged]})
    secret = indicator(12, tlp_ref=RED, pattern="[ipv4-addr:value = '45.9.148.99']")
    world.hub.intel.ingest(bob, "shared", {"objects": [secret]})


def test_zeek_download_holds_only_what_the_user_may_read_and_no_flagged_value(world: World, browser: Any) -> None:
    _export_world(world)
    b = browser("alice@a.example")
    response = b.get("/exports/download?collection=shared&format=zeek")
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    body = response.text
    assert "#fields" in body and "45.9.148.12\tIntel::ADDR" in body
    assert "45.9.148.99" not in body  # bob's TLP:RED indicator
    assert "8.8.8.8" not in body  # on a warninglist
    flagged = b.get("/exports/download?collection=shared&format=zeek&include_flagged=1").text
    assert "8.8.8.8" in flagged and "45.9.148.99" not in flagged
    assert "45.9.148.99" in browser("bob@b.example").get("/exports/download?collection=shared&format=zeek").text


def test_export_preview_counts_what_is_left_out_and_links_the_download(world: World, browser: Any) -> None:
    _export_world(world)
    b = browser("alice@a.example")
    page = b.get("/exports?collection=shared&format=zeek&preview=1")
    assert page.status_code == 200
    assert '<td>a value is on a warninglist <code class="muted" dir="ltr">flagged</code></td>' in page.text
    assert 'href="/exports/download?collection=shared&amp;format=zeek"' in page.text
    assert "45.9.148.99" not in page.text and indicator(12)["id"] not in page.text
    b.post("/language", {"lang": "ar", "next": "/"})
    arabic = b.get("/exports?collection=shared&format=blocklist&kind=ip&preview=1").text
    assert 'dir="rtl"' in arabic and "قائمة تحذير" in arabic
    assert 'href="/exports/download?collection=shared&amp;format=blocklist&amp;kind=ip"' in arabic


def test_export_form_errors_name_the_field(world: World, browser: Any) -> None:
    b = browser("alice@a.example")
    response = b.get("/exports/download?collection=shared&format=zeek&min_confidence=high")
    assert response.status_code == 400 and 'id="error-min_confidence"' in response.text
    response = b.get("/exports?collection=shared&format=zeek&since=2024-05-01&until=2024-01-01&preview=1")
    assert response.status_code == 400 and 'id="error-until"' in response.text
    response = b.get("/exports?format=stix&preview=1")
    assert response.status_code == 400 and 'id="error-collection"' in response.text
    response = b.get("/exports/download?collection=nowhere&format=stix")
    assert response.status_code == 400 and 'id="error-collection"' in response.text
    response = b.get("/exports?collection=shared&format=pdf&preview=1")
    assert response.status_code == 400 and 'id="error-format"' in response.text


# -- units ---------------------------------------------------------------------------------------


def test_every_export_skip_reason_has_words_in_every_language() -> None:
    assert set(_REASONS) <= set(SKIP_REASONS)
    for lang in ("ar", "fr"):
        t = translator(lang)
        for words in SKIP_REASONS.values():
            assert t.gettext(words) != words, (lang, words)


def test_highlight_finds_the_value_as_written_else_its_normal_form() -> None:
    assert highlight("Beacons to 1.2.3[.]4 hourly.", "1.2.3[.]4", "1.2.3.4") == ("Beacons to ", "1.2.3[.]4", " hourly.")
    assert highlight("See EVIL.example now", "", "evil.example") == ("See ", "EVIL.example", " now")
    assert highlight("Nothing here.", "x.example", "x.example") == ("Nothing here.", "", "")
