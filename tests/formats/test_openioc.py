"""OpenIOC 1.0 and 1.1 XML → STIX 2.1 indicators, with stix2-matcher as the oracle of what a
pattern matches."""

from __future__ import annotations

from typing import Any

import pytest
from stix2matcher.matcher import match

from ribat.errors import ValidationError
from ribat.formats.openioc import openioc_to_stix
from ribat.intel.envelope import read_envelope
from ribat.intel.patterns import pattern_error
from support import stix2_accepts

NOW = 1_700_000_000_000_000

OPENIOC_10 = b"""<?xml version="1.0" encoding="us-ascii"?>
<ioc xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
     id="6d2a1b76-1b2e-4a5c-9e6c-2f1b3b2a9c11" last-modified="2013-02-20T10:00:00"
     xmlns="http://schemas.mandiant.com/2010/ioc">
  <short_description>Example dropper</short_description>
  <description>A dropper and its command server.</description>
  <keywords>dropper apt</keywords>
  <authored_by>CERT A</authored_by>
  <authored_date>2013-02-12T09:30:00</authored_date>
  <links><link rel="report" href="https://reports.example/dropper">Dropper report</link></links>
  <definition>
    <Indicator operator="OR" id="top">
      <IndicatorItem id="md5" condition="is">
        <Context document="FileItem" search="FileItem/Md5sum" type="mir"/>
        <Content type="md5">D41D8CD98F00B204E9800998ECF8427E</Content>
      </IndicatorItem>
      <IndicatorItem id="ip" condition="is">
        <Context document="PortItem" search="PortItem/remoteIP" type="mir"/>
        <Content type="IP">203.0.113.7</Content>
      </IndicatorItem>
      <IndicatorItem id="dns" condition="is">
        <Context document="Network" search="Network/DNS" type="network"/>
        <Content type="string">C2.Evil.example</Content>
      </IndicatorItem>
      <Indicator operator="AND" id="named-file">
        <IndicatorItem id="name" condition="is">
          <Context document="FileItem" search="FileItem/FileName" type="mir"/>
          <Content type="string">svch0st.exe</Content>
        </IndicatorItem>
        <IndicatorItem id="size" condition="is">
          <Context document="FileItem" search="FileItem/SizeInBytes" type="mir"/>
          <Content type="int">45056</Content>
        </IndicatorItem>
      </Indicator>
      <Indicator operator="AND" id="registry-branch">
        <IndicatorItem id="path" condition="contains">
          <Context document="FileItem" search="FileItem/FileName" type="mir"/>
          <Content type="string">it's_evil</Content>
        </IndicatorItem>
        <IndicatorItem id="reg" condition="is">
          <Context document="RegistryItem" search="RegistryItem/Path" type="mir"/>
          <Content type="string">HKLM\\Software\\Evil</Content>
        </IndicatorItem>
      </Indicator>
      <Indicator operator="AND" id="mail-and-url">
        <IndicatorItem id="from" condition="is">
          <Context document="Email" search="Email/From" type="mir"/>
          <Content type="string">bad@evil.example</Content>
        </IndicatorItem>
        <IndicatorItem id="url" condition="contains">
          <Context document="UrlHistoryItem" search="UrlHistoryItem/URL" type="mir"/>
          <Content type="string">/gate.php</Content>
        </IndicatorItem>
      </Indicator>
    </Indicator>
  </definition>
</ioc>
"""

OPENIOC_11 = b"""<?xml version="1.0" encoding="UTF-8"?>
<OpenIOC xmlns="http://openioc.org/schemas/OpenIOC_1.1" id="a8d0b8f4-63f6-4b43-8f5b-9b0d2a1e2f10"
         last-modified="2014-05-01T12:00:00Z" published-date="2014-05-02T00:00:00Z">
  <metadata>
    <short_description>Loader 1.1</short_description>
    <keywords>loader</keywords>
    <authored_by>CERT B</authored_by>
    <authored_date>2014-04-30T08:00:00Z</authored_date>
    <links/>
  </metadata>
  <criteria>
    <Indicator id="root" operator="OR">
      <IndicatorItem id="h" condition="is" preserve-case="false" negate="false">
        <Context document="FileItem" search="FileItem/Sha256sum" type="mir"/>
        <Content type="string">c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeeabcd</Content>
      </IndicatorItem>
      <IndicatorItem id="n" condition="starts-with" preserve-case="false" negate="true">
        <Context document="DnsEntryItem" search="DnsEntryItem/Host" type="mir"/>
        <Content type="string">update.</Content>
      </IndicatorItem>
      <IndicatorItem id="bad-hash" condition="is">
        <Context document="FileItem" search="FileItem/Sha1sum" type="mir"/>
        <Content type="string">not-a-hash</Content>
      </IndicatorItem>
    </Indicator>
  </criteria>
  <parameters>
    <param id="p1" ref-id="h" name="comment"><value type="string">from sandbox</value></param>
  </parameters>
</OpenIOC>
"""


def observed(sco: dict[str, Any]) -> list[dict[str, Any]]:
    """One observation of ``sco``, as stix2-matcher takes it for STIX 2.1."""
    sco = {**sco, "id": f"{sco['type']}--0b7a3c1e-5d2f-4e6a-9b8c-1d2e3f4a5b6c", "spec_version": "2.1"}
    stamp = "2024-01-01T00:00:00Z"
    return [
        {
            "type": "bundle",
            "id": "bundle--0b7a3c1e-5d2f-4e6a-9b8c-1d2e3f4a5b6d",
            "objects": [
                {
                    "type": "observed-data",
                    "spec_version": "2.1",
                    "id": "observed-data--0b7a3c1e-5d2f-4e6a-9b8c-1d2e3f4a5b6e",
                    "created": stamp,
                    "modified": stamp,
                    "first_observed": stamp,
                    "last_observed": stamp,
                    "number_observed": 1,
                    "object_refs": [sco["id"]],
                },
                sco,
            ],
        }
    ]


def test_openioc_10_tree_becomes_one_pattern_and_unmappable_branches_are_reported() -> None:
    conversion = openioc_to_stix(OPENIOC_10, source="dropper.ioc", now=lambda: NOW)
    [indicator] = conversion.objects
    assert indicator["name"] == "Example dropper"
    assert indicator["description"] == "A dropper and its command server."
    assert indicator["labels"] == ["dropper", "apt"]
    assert indicator["created"] == "2013-02-12T09:30:00.000000Z"
    assert indicator["modified"] == "2013-02-20T10:00:00.000000Z"
    assert indicator["valid_from"] == indicator["created"]
    assert indicator["external_references"][0] == {
        "source_name": "openioc",
        "external_id": "6d2a1b76-1b2e-4a5c-9e6c-2f1b3b2a9c11",
        "description": "authored by CERT A",
    }
    assert indicator["external_references"][1]["url"] == "https://reports.example/dropper"
    pattern = indicator["pattern"]
    assert pattern_error(pattern) is None
    assert "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']" in pattern
    assert "[file:name = 'svch0st.exe' AND file:size = 45056]" in pattern
    assert "[domain-name:value = 'c2.evil.example']" in pattern
    assert "([email-message:from_ref.value = 'bad@evil.example'] AND [url:value LIKE '%/gate.php%'])" in pattern
    assert "evil" not in pattern.replace("evil.example", "") and "HKLM" not in pattern
    assert read_envelope({"objects": conversion.objects}).problems == []
    assert stix2_accepts(indicator)

    losses = {(loss.where, loss.field): loss for loss in conversion.losses}
    assert set(losses) == {
        ("ioc 6d2a1b76-1b2e-4a5c-9e6c-2f1b3b2a9c11/IndicatorItem reg", "RegistryItem/Path"),
        ("ioc 6d2a1b76-1b2e-4a5c-9e6c-2f1b3b2a9c11/Indicator registry-branch", "Indicator"),
    }
    branch = losses[("ioc 6d2a1b76-1b2e-4a5c-9e6c-2f1b3b2a9c11/Indicator registry-branch", "Indicator")]
    # The mapped half of the AND is named in the loss: "_" makes it a regular expression.
    assert branch.value == "file:name MATCHES 'it\\'s_evil'"
    assert "would match more" in branch.reason
    assert conversion.counts == {"documents": 1, "items": 9, "indicators": 1}


def test_openioc_pattern_semantics_by_stix2_matcher() -> None:
    pattern = openioc_to_stix(OPENIOC_10, now=lambda: NOW).objects[0]["pattern"]
    assert match(
        pattern, observed({"type": "file", "hashes": {"MD5": "d41d8cd98f00b204e9800998ecf8427e"}}), False, "2.1"
    )
    assert match(pattern, observed({"type": "file", "name": "svch0st.exe", "size": 45056}), False, "2.1")
    assert not match(pattern, observed({"type": "file", "name": "svch0st.exe", "size": 1}), False, "2.1")
    assert match(pattern, observed({"type": "ipv4-addr", "value": "203.0.113.7"}), False, "2.1")
    assert not match(pattern, observed({"type": "ipv4-addr", "value": "203.0.113.8"}), False, "2.1")


def test_openioc_11_negate_and_conditions_and_parameters() -> None:
    conversion = openioc_to_stix(OPENIOC_11, now=lambda: NOW)
    [indicator] = conversion.objects
    assert indicator["name"] == "Loader 1.1"
    assert indicator["created"] == "2014-04-30T08:00:00.000000Z"
    assert indicator["modified"] == "2014-05-01T12:00:00.000000Z"
    assert indicator["pattern"] == (
        "[file:hashes.'SHA-256' = 'c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeeabcd']"
        " OR [domain-name:value NOT LIKE 'update.%']"
    )
    reasons = {loss.field: loss.reason for loss in conversion.losses}
    assert reasons["FileItem/Sha1sum"] == "not a valid sha1"
    assert "no STIX equivalent" in reasons["comment"]
    assert stix2_accepts(indicator)


def test_same_document_gives_the_same_indicator_id() -> None:
    first = openioc_to_stix(OPENIOC_10, source="a", now=lambda: NOW).objects[0]
    again = openioc_to_stix(OPENIOC_10.decode(), source="b", now=lambda: NOW + 10).objects[0]
    assert first == again


def test_document_with_nothing_mappable_is_reported_not_converted() -> None:
    doc = b"""<ioc xmlns="http://schemas.mandiant.com/2010/ioc" id="x1"><definition>
      <Indicator operator="OR"><IndicatorItem id="r" condition="is">
        <Context document="RegistryItem" search="RegistryItem/Path"/><Content>HKLM\\Run</Content>
      </IndicatorItem></Indicator></definition></ioc>"""
    conversion = openioc_to_stix(doc, now=lambda: NOW)
    assert conversion.objects == []
    assert [loss.where for loss in conversion.losses] == ["ioc x1/IndicatorItem r", "ioc x1"]


def test_external_entities_are_not_resolved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    doc = f"""<?xml version="1.0"?>
<!DOCTYPE ioc [<!ENTITY leak SYSTEM "file://{secret}">]>
<ioc xmlns="http://schemas.mandiant.com/2010/ioc" id="x2"><short_description>&leak;</short_description>
<definition><Indicator operator="OR"><IndicatorItem id="f" condition="is">
<Context document="FileItem" search="FileItem/FileName"/><Content>a&leak;.exe</Content>
</IndicatorItem></Indicator></definition></ioc>""".encode()
    conversion = openioc_to_stix(doc, now=lambda: NOW)
    assert "TOPSECRET" not in str(conversion.objects)
    assert "TOPSECRET" not in str(conversion.losses)


def test_not_openioc_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="not well-formed XML"):
        openioc_to_stix(b"{not xml")
    with pytest.raises(ValidationError, match="no OpenIOC"):
        openioc_to_stix(b"<stix/>")


def test_entity_expansion_bombs_are_refused() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    doc = f"""<?xml version="1.0"?><!DOCTYPE ioc [{entities}]>
<ioc xmlns="http://schemas.mandiant.com/2010/ioc" id="x3"><short_description>&a9;</short_description>
<definition><Indicator operator="OR"><IndicatorItem id="f" condition="is">
<Context search="FileItem/FileName"/><Content>a&a9;.exe</Content></IndicatorItem></Indicator></definition></ioc>"""
    with pytest.raises(ValidationError, match="not well-formed XML"):
        openioc_to_stix(doc.encode())
