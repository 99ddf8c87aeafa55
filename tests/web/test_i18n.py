"""Translations: every string of the templates and the UI code has a real Arabic and French
translation; placeholders survive translation; the policy engine's reasons are covered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from ribat.intel.tlp import Audience, Tlp, Viewer, explain
from ribat.web.ui.i18n import LANGUAGES, LOCALE_DIR, negotiate, translator
from ribat.web.ui.pages_intel import _CIRCLES_PREFIX, REASONS

WEB = Path(LOCALE_DIR).parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("ui/**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
ARABIC = re.compile(r"[\u0600-\u06ff]")


def _source_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(WEB), METHODS, keywords=KEYWORDS):
        found.add(message)
    return found


def _catalog(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


SOURCE = _source_messages()


def test_sources_have_many_messages() -> None:
    assert len(SOURCE) > 150


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_every_ui_string_is_translated(lang: str) -> None:
    catalog = _catalog(lang)
    missing = []
    for message in SOURCE:
        entry = catalog.get(message)
        strings = (
            (entry.string,) if entry is not None and isinstance(entry.string, str) else (entry.string if entry else ())
        )
        if entry is None or entry.fuzzy or not strings or not all(strings):
            missing.append(message)
    assert not missing, (
        f"untranslated into {lang} (edit src/ribat/web/locale/{lang}/LC_MESSAGES/messages.po): {missing}"
    )


def test_arabic_translations_are_arabic() -> None:
    catalog = _catalog("ar")
    not_arabic = [
        m.id
        for m in catalog
        if m.id and not all(ARABIC.search(s) for s in (m.string if isinstance(m.string, tuple) else (m.string,)))
    ]
    assert not not_arabic


def test_french_is_not_an_english_copy() -> None:
    catalog = _catalog("fr")
    same = [m.id for m in catalog if m.id and isinstance(m.id, str) and m.string == m.id]
    # A few words are spelled the same in both languages.
    assert set(same) <= {
        "Description",
        "Collection",
        "Collections",
        "Organisation",
        "Organisations",
        "Type",
        "Version",
        "Versions",
        "Actions",
        "Pages",
        "Relation",
        "URL",
        "Administration",
    }


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_placeholders_survive_translation(lang: str) -> None:
    for m in _catalog(lang):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for s in m.string if isinstance(m.string, tuple) else (m.string,):
            assert set(PLACEHOLDER.findall(s)) <= wanted, (m.id, s)
            if len(ids) == 1:
                assert set(PLACEHOLDER.findall(s)) == wanted, (m.id, s)


@pytest.mark.parametrize("lang", ["ar", "fr"])
def test_catalogues_hold_no_stale_messages(lang: str) -> None:
    stale = [m.id for m in _catalog(lang) if m.id and m.id not in SOURCE]
    assert not stale, "remove from the catalogue or restore in the source: " + repr(stale)


def _every_decision() -> list[str]:
    reasons = set()
    for tlp in Tlp:
        for viewer in (
            Viewer.anonymous(),
            Viewer("u1", "o1", frozenset({"c1"})),
            Viewer("u2", "o2", frozenset({"c2"})),
            Viewer("u3", "o3"),
        ):
            audience = Audience(tlp, "o1", "u1", frozenset({"o2"}), frozenset({"c2"}), frozenset({"u3"}))
            for aud in (audience, Audience(tlp, "o9", "u9")):
                reasons.add(explain(viewer, aud).reason.partition(": ")[2])
    return sorted(reasons)


def test_every_policy_reason_has_a_translation() -> None:
    for reason in _every_decision():
        if reason.startswith(_CIRCLES_PREFIX):
            continue
        assert reason in REASONS, f"ribat.intel.tlp.explain gives a reason the UI does not know: {reason!r}"


def test_language_negotiation() -> None:
    assert negotiate(None, None, None) == "en"
    assert negotiate(None, None, "fr-CA,fr;q=0.9,en;q=0.8") == "fr"
    assert negotiate(None, None, "en;q=0.5, ar;q=0.9") == "ar"
    assert negotiate(None, "fr", "ar") == "fr"
    assert negotiate("ar", "fr", "en") == "ar"
    assert negotiate("xx", None, "q=bad, *") == "en"
    assert set(LANGUAGES) == {"ar", "en", "fr"}


def test_plural_forms_follow_each_language() -> None:
    ar, fr, en = translator("ar"), translator("fr"), translator("en")
    one, many = "%(num)s object found", "%(num)s objects found"
    assert en.ngettext(one, many, 1) == "1 object found"
    assert fr.ngettext(one, many, 0) == "0 objet trouvé"
    assert fr.ngettext(one, many, 2) == "2 objets trouvés"
    forms = {ar.ngettext(one, many, n) for n in (0, 1, 2, 3, 11, 100)}
    assert len(forms) == 6
    assert ar.dir == "rtl" and fr.dir == "ltr"
