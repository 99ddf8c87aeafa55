"""``ribat.intel.carried``: the provenance extension survives a round trip, and each malformed extension is refused
with a message that says what is wrong with it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ribat.errors import StixValidationError
from ribat.intel import SHARE_EXTENSION, Tlp
from ribat.intel.carried import PROVENANCE_EXTENSION, AuthorCard, Carried, attach, detach
from support import indicator

OTHER_EXTENSION = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"
AUTHOR = AuthorCard("identity--3c6a1b2e-0d6b-4c55-9b59-5d8e3a8c1f70", "CERT Maroc", "ma-cert", "MA", "national-cert")


def _object(**extensions: Any) -> dict[str, Any]:
    obj = indicator(1)
    obj["extensions"] = {
        OTHER_EXTENSION: {"extension_type": "property-extension", "rank": 3},
        SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": ["org:ma-cert"]},
        **extensions,
    }
    return obj


def test_attach_then_detach_gives_back_the_object_and_its_provenance() -> None:
    obj = _object()
    carried = Carried(
        "hub-a",
        ("hub-a", "hub-b"),
        AUTHOR,
        ("identity--00000000-0000-4000-8000-000000000001", "identity--00000000-0000-4000-8000-000000000002"),
        Tlp.AMBER,
    )
    sent = attach(obj, carried, strip=(SHARE_EXTENSION,))
    assert SHARE_EXTENSION not in sent["extensions"]
    assert sent["extensions"][PROVENANCE_EXTENSION] == {
        "extension_type": "property-extension",
        "origin_hub": "hub-a",
        "hops": ["hub-a", "hub-b"],
        "author": AUTHOR.as_json(),
        "recipients": list(carried.recipients),
        "tlp": "TLP:AMBER",
    }
    assert SHARE_EXTENSION in obj["extensions"] and PROVENANCE_EXTENSION not in obj["extensions"]  # a copy
    back, found = detach(copy.deepcopy(sent))
    assert found == carried
    assert back == {**obj, "extensions": {OTHER_EXTENSION: obj["extensions"][OTHER_EXTENSION]}}


def test_a_bare_provenance_detaches_with_no_author_recipients_or_tlp() -> None:
    sent = attach(indicator(2), Carried("hub-a", ("hub-a",), None))
    assert set(sent["extensions"][PROVENANCE_EXTENSION]) == {"extension_type", "origin_hub", "hops"}
    back, found = detach(sent)
    assert found == Carried("hub-a", ("hub-a",), None, (), None)
    assert back == indicator(2)  # the emptied extensions property is removed


def test_detach_leaves_an_object_without_provenance_alone_and_strips_what_it_is_told() -> None:
    plain = indicator(3)
    assert detach(plain) == (plain, None)
    assert detach(plain, strip=(SHARE_EXTENSION,)) == (plain, None)
    back, found = detach(_object(), strip=(SHARE_EXTENSION,))
    assert found is None
    assert back["extensions"] == {OTHER_EXTENSION: {"extension_type": "property-extension", "rank": 3}}
    only_share = indicator(4)
    only_share["extensions"] = {SHARE_EXTENSION: {"share_with": []}}
    assert detach(only_share, strip=(SHARE_EXTENSION,)) == (indicator(4), None)


def _ext(**fields: Any) -> dict[str, Any]:
    ext: dict[str, Any] = {"extension_type": "property-extension", "origin_hub": "hub-a", "hops": ["hub-a"]}
    ext.update(fields)
    return {k: v for k, v in ext.items() if v is not ...}


FIELDS = "identity, name, short_name, country, kind"
MALFORMED = [
    pytest.param("not an object", "provenance extension: must be an object", id="not-an-object"),
    pytest.param(_ext(origin_hub=...), "provenance extension: origin_hub must be a hub id", id="no-origin"),
    pytest.param(_ext(origin_hub=""), "provenance extension: origin_hub must be a hub id", id="empty-origin"),
    pytest.param(_ext(origin_hub="a,b"), "provenance extension: origin_hub must be a hub id", id="comma-origin"),
    pytest.param(_ext(origin_hub=7), "provenance extension: origin_hub must be a hub id", id="number-origin"),
    pytest.param(_ext(hops="hub-a"), "provenance extension: hops must be a list of hub ids", id="hops-string"),
    pytest.param(_ext(hops=["hub-a", ""]), "provenance extension: hops must be a list of hub ids", id="empty-hop"),
    pytest.param(_ext(hops=["a,b"]), "provenance extension: hops must be a list of hub ids", id="comma-hop"),
    pytest.param(_ext(hops=[1]), "provenance extension: hops must be a list of hub ids", id="number-hop"),
    pytest.param(
        _ext(recipients="identity--x"),
        "provenance extension: recipients must be a list of identity ids",
        id="recipients-string",
    ),
    pytest.param(
        _ext(recipients=["indicator--00000000-0000-4000-8000-000000000001"]),
        "provenance extension: recipients must be a list of identity ids",
        id="recipient-not-identity",
    ),
    pytest.param(_ext(author="ma-cert"), f"provenance extension: author must have the strings {FIELDS}", id="author"),
    pytest.param(
        _ext(author={k: v for k, v in AUTHOR.as_json().items() if k != "country"}),
        f"provenance extension: author must have the strings {FIELDS}",
        id="author-no-country",
    ),
    pytest.param(
        _ext(author={**AUTHOR.as_json(), "kind": None}),
        f"provenance extension: author must have the strings {FIELDS}",
        id="author-kind-null",
    ),
    pytest.param(
        _ext(author={**AUTHOR.as_json(), "identity": "ma-cert"}),
        "provenance extension: author.identity must be an identity id",
        id="author-identity",
    ),
    pytest.param(_ext(tlp="TLP:PURPLE"), "provenance extension: tlp 'TLP:PURPLE' is not a TLP level", id="tlp-name"),
    pytest.param(_ext(tlp=2), "provenance extension: tlp 2 is not a TLP level", id="tlp-number"),
]


@pytest.mark.parametrize(("extension", "reason"), MALFORMED)
def test_a_malformed_provenance_extension_is_refused_naming_what_is_wrong(extension: Any, reason: str) -> None:
    obj = indicator(5)
    obj["extensions"] = {PROVENANCE_EXTENSION: extension, SHARE_EXTENSION: {"share_with": ["org:ma-cert"]}}
    before = copy.deepcopy(obj)
    with pytest.raises(StixValidationError) as caught:
        detach(obj, strip=(SHARE_EXTENSION,))
    assert caught.value.reason == reason
    assert caught.value.object_id == obj["id"]
    assert obj == before  # a refused object is left as it came
