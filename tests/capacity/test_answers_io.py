"""Answers as CSV and JSON: exports of both shipped models, reading them back, and every problem of a bad file."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ribat.capacity.answers_io import CSV_COLUMNS, MAX_COMMENT, AnswerImport, export_csv, export_json, read_answers
from ribat.capacity.assessment import (
    Assessment,
    Consensus,
    Contribution,
    Evidence,
    EvidenceKind,
    EvidenceStatus,
    State,
)
from ribat.capacity.models import shipped_models
from ribat.capacity.scoring import Answer
from ribat.capacity.types import Aspect, Dimension, Factor, Indicator, Model, Stage, Text
from ribat.errors import ValidationError

M, P, N, U = Answer.MET, Answer.PARTLY_MET, Answer.NOT_MET, Answer.UNKNOWN
MODELS = {model.id: model for model in shipped_models()}
CMM, GCI = MODELS["coalition-cmm"], MODELS["gci-style"]
T0 = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
USERS = {"u-lead": "lead@ma-cert.example", "u-amal": "amal@ma-cert.example", "u-omar": "omar@ma-cert.example"}
TRICKY = (
    '=HYPERLINK("http://evil.example", "click")',
    "+1+2",
    "-2",
    "@SUM(A1)",
    "\tstarts with a tab",
    "\rstarts with a carriage return",
    "'=already escaped?",
    "''two apostrophes",
    "'",
    "'quoted' text",
    'a "quoted", comma, line\nand another\r\nline',
    "تمت المصادقة على الاستراتيجية من مجلس الوزراء",
    "Stratégie adoptée ; révision prévue en 2027",
    "  spaces kept  ",
)


def assessment(model: Model, **changes: object) -> Assessment:
    fields: dict[str, object] = {
        "id": "a-1",
        "title": "Morocco 2026",
        "country": "MA",
        "org_id": "org-ma",
        "model_id": model.id,
        "model_version": model.version,
        "state": State.REVIEW,
        "lead_user_id": "u-lead",
        "created_by": "u-lead",
        "created_us": T0,
        "updated_us": T0 + 5_000_000,
        "review_us": T0 + 4_000_000,
    }
    fields.update(changes)
    return Assessment(**fields)  # type: ignore[arg-type]


def link(indicator_id: str, url: str, *, status: EvidenceStatus = EvidenceStatus.ACCEPTED, at: int = 0) -> Evidence:
    return Evidence(
        id=f"e-{indicator_id}-{at}",
        indicator_id=indicator_id,
        kind=EvidenceKind.LINK,
        title="link",
        status=status,
        added_by="u-amal",
        added_us=T0 + at,
        url=url,
    )


def document_evidence(
    indicator_id: str, filename: str, *, status: EvidenceStatus = EvidenceStatus.ACCEPTED, at: int = 0
) -> Evidence:
    return Evidence(
        id=f"e-{indicator_id}-{at}",
        indicator_id=indicator_id,
        kind=EvidenceKind.DOCUMENT,
        title="document",
        status=status,
        added_by="u-omar",
        added_us=T0 + at,
        filename=filename,
        media_type="application/pdf",
        size=1234,
        sha256="ab" * 32,
    )


def platform(
    indicator_id: str, value: str, *, status: EvidenceStatus = EvidenceStatus.ACCEPTED, at: int = 0
) -> Evidence:
    return Evidence(
        id=f"e-{indicator_id}-{at}",
        indicator_id=indicator_id,
        kind=EvidenceKind.PLATFORM,
        title="objects shared",
        status=status,
        added_by="u-lead",
        added_us=T0 + at,
        metric="intel.shared_objects",
        query="STIX objects shared by the organisation",
        window_start_us=T0 - 86_400_000_000,
        window_end_us=T0,
        value=value,
        decided_by="u-lead" if status is not EvidenceStatus.PROPOSED else None,
        decided_us=T0 + at + 1 if status is not EvidenceStatus.PROPOSED else None,
    )


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def read(model: Model, text: str, **options: object) -> AnswerImport:
    return read_answers(model, text.encode("utf-8"), **options)  # type: ignore[arg-type]


def random_campaign(
    model: Model, rng: random.Random, comments: Sequence[str]
) -> tuple[dict[str, Consensus], list[Contribution]]:
    """Consensus on about two thirds of the indicators and a few contributors' answers on most."""
    consensus: dict[str, Consensus] = {}
    contributions: list[Contribution] = []
    for n, indicator in enumerate(model.indicators()):
        if rng.random() < 0.67:
            consensus[indicator.id] = Consensus(
                indicator_id=indicator.id,
                answer=rng.choice(list(Answer)),
                comment=rng.choice(comments),
                decided_by="u-lead",
                decided_us=T0 + n,
            )
        for user_id in ("u-amal", "u-omar"):
            if rng.random() < 0.8:
                contributions.append(
                    Contribution(indicator.id, user_id, rng.choice(list(Answer)), rng.choice(comments), T0 + n)
                )
    return consensus, contributions


def expected(consensus: Mapping[str, Consensus]) -> dict[str, tuple[Answer, str]]:
    return {c.indicator_id: (c.answer, c.comment) for c in consensus.values()}


# --------------------------------------------------------------------------------------------- round trips

_COMMENTS = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
)


@pytest.mark.parametrize("model_id", sorted(MODELS))
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), comments=st.lists(_COMMENTS, min_size=1, max_size=8))
def test_csv_export_reads_back_as_the_same_consensus(model_id: str, seed: int, comments: list[str]) -> None:
    model = MODELS[model_id]
    consensus, contributions = random_campaign(model, random.Random(seed), comments)
    text = export_csv(model, assessment(model), consensus, contributions, [], users=USERS)

    result = read_answers(model, text.encode("utf-8"), filename="answers.csv")

    assert result.answers == expected(consensus)
    assert result.problems == ()
    unsettled = sum(1 for i in model.indicators() if i.id not in consensus)
    assert result.skipped == unsettled + len(contributions)
    assert list(result.answers) == [i.id for i in model.indicators() if i.id in consensus]  # file order


@pytest.mark.parametrize("model_id", sorted(MODELS))
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), comments=st.lists(_COMMENTS, min_size=1, max_size=8))
def test_json_export_reads_back_as_the_same_consensus(model_id: str, seed: int, comments: list[str]) -> None:
    model = MODELS[model_id]
    consensus, contributions = random_campaign(model, random.Random(seed), comments)
    exported = export_json(model, assessment(model), consensus, contributions, [], users=USERS)

    result = read_answers(model, json.dumps(exported, ensure_ascii=False).encode("utf-8"))

    assert result.answers == expected(consensus)
    assert result.problems == ()
    assert result.skipped == sum(1 for i in model.indicators() if i.id not in consensus) + len(contributions)


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_a_contributors_answers_read_back_from_both_exports(model_id: str) -> None:
    model = MODELS[model_id]
    consensus, contributions = random_campaign(model, random.Random(7), TRICKY)
    amal = {c.indicator_id: (c.answer, c.comment) for c in contributions if c.user_id == "u-amal"}
    text = export_csv(model, assessment(model), consensus, contributions, [], users=USERS)
    exported = export_json(model, assessment(model), consensus, contributions, [], users=USERS)

    from_csv = read(model, text, source="contributor", user="AMAL@ma-cert.example")
    from_json = read(model, json.dumps(exported), source="contributor", user="amal@ma-cert.example")

    assert from_csv.answers == amal
    assert from_json.answers == amal
    assert from_csv.problems == from_json.problems == ()
    total = len(list(model.indicators())) + len(contributions)
    assert from_csv.skipped == total - len(amal)


# --------------------------------------------------------------------------------------------- CSV export


def small_campaign() -> tuple[dict[str, Consensus], list[Contribution], list[Evidence]]:
    consensus = {
        "gci.p1.q1": Consensus(
            "gci.p1.q1", M, "Law 05-20 in force", "u-lead", T0 + 10, disagreement=(("u-amal", M), ("u-omar", P))
        )
    }
    contributions = [
        Contribution("gci.p1.q1", "u-omar", P, "draft decree pending", T0 + 3),
        Contribution("gci.p1.q1", "u-amal", M, "", T0 + 2),
        Contribution("gci.p1.q2", "u-stranger", N, "", T0 + 4),
    ]
    evidence = [
        platform("gci.p1.q1", "1,204 objects", at=30),
        link("gci.p1.q1", "https://sgg.gov.ma/law-05-20", at=10),
        document_evidence("gci.p1.q1", "rejected.pdf", status=EvidenceStatus.REJECTED, at=15),
        document_evidence("gci.p1.q1", "law-05-20.pdf", at=20),
        platform("gci.p1.q1", "9 events", status=EvidenceStatus.PROPOSED, at=40),
    ]
    return consensus, contributions, evidence


def test_csv_export_has_a_consensus_row_per_indicator_and_a_row_per_contributor_answer() -> None:
    consensus, contributions, evidence = small_campaign()
    text = export_csv(GCI, assessment(GCI), consensus, contributions, evidence, users=USERS)

    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    table = rows(text)
    assert len(table) == len(list(GCI.indicators())) + len(contributions)
    first = table[:3]
    assert [(r["source"], r["user"], r["answer"], r["comment"]) for r in first] == [
        ("consensus", "lead@ma-cert.example", "met", "Law 05-20 in force"),
        ("contributor", "amal@ma-cert.example", "met", ""),
        ("contributor", "omar@ma-cert.example", "partly_met", "draft decree pending"),
    ]
    assert first[0] | {"source": "", "user": "", "answer": "", "comment": "", "updated": ""} == {
        "assessment_id": "a-1",
        "country": "MA",
        "model": "gci-style@2026.1",
        "source": "",
        "user": "",
        "dimension_id": "gci.p1",
        "factor_id": "gci.p1.a1",
        "aspect_id": "",
        "stage": "",
        "weight": "3",
        "indicator_id": "gci.p1.q1",
        "indicator": "Is there a law in force that defines cybercrime offences?",
        "answer": "",
        "comment": "",
        "evidence": "https://sgg.gov.ma/law-05-20 | law-05-20.pdf | intel.shared_objects: 1,204 objects",
        "updated": "",
    }
    assert first[0]["updated"] == "2026-01-01T00:00:00.000010Z"
    assert first[2]["updated"] == "2026-01-01T00:00:00.000003Z"
    assert all(r["evidence"] == first[0]["evidence"] for r in first)
    # No consensus yet: the row is there with an empty answer; a user missing from `users` is shown by id.
    q2 = [r for r in table if r["indicator_id"] == "gci.p1.q2"]
    assert [(r["source"], r["user"], r["answer"], r["updated"], r["evidence"]) for r in q2] == [
        ("consensus", "", "", "", ""),
        ("contributor", "u-stranger", "not_met", "2026-01-01T00:00:00.000004Z", ""),
    ]
    assert [r["indicator_id"] for r in table if r["source"] == "consensus"] == [i.id for i in GCI.indicators()]


def test_csv_export_of_a_stages_model_names_the_stage_and_keeps_file_order() -> None:
    table = rows(export_csv(CMM, assessment(CMM), {}, [], [], users=USERS))

    assert [r["indicator_id"] for r in table] == [i.id for i in CMM.indicators()]
    assert [(r["stage"], r["weight"], r["dimension_id"], r["factor_id"]) for r in table[:2]] == [
        ("start-up", "1", "cmm.d1", "cmm.d1.f1"),
        ("formative", "1", "cmm.d1", "cmm.d1.f1"),
    ]
    assert {r["model"] for r in table} == {"coalition-cmm@2026.1"}


def text(name: str) -> Text:
    return {"en": name, "ar": f"{name} (ar)", "fr": f"{name} (fr)"}


def test_csv_export_names_the_aspect_and_writes_fractional_weights() -> None:
    inner = Indicator("x.f.a.1", "s1", 0.25, text("grouped"), "x", "x.f", "x.f.a")
    model = Model(
        id="aspects",
        version="1",
        kind="stages",
        title=text("model"),
        stages=(Stage("s1", 1, text("one")),),
        dimensions=(
            Dimension(
                "x",
                text("dimension"),
                (
                    Factor(
                        "x.f",
                        text("factor"),
                        (Indicator("x.f.1", "s1", 1.5, text("plain"), "x", "x.f"), inner),
                        aspects=(Aspect("x.f.a", text("aspect"), (inner,)),),
                    ),
                ),
            ),
        ),
    )
    table = rows(export_csv(model, assessment(model), {}, [], [], users={}, language="fr"))

    assert [(r["indicator_id"], r["aspect_id"], r["weight"], r["indicator"]) for r in table] == [
        ("x.f.1", "", "1.5", "plain (fr)"),
        ("x.f.a.1", "x.f.a", "0.25", "grouped (fr)"),
    ]


def test_arabic_text_survives_the_csv_export_and_the_import() -> None:
    comment = "الاستراتيجية معتمدة منذ ٢٠٢٣ — مراجعة جارية"
    consensus = {"gci.p1.q1": Consensus("gci.p1.q1", P, comment, "u-lead", T0)}
    text = export_csv(GCI, assessment(GCI, title="المغرب ٢٠٢٦"), consensus, [], [], users=USERS, language="ar")
    data = text.encode("utf-8")

    table = rows(data.decode("utf-8"))
    assert table[0]["indicator"] == "هل يوجد قانون نافذ يعرّف الجرائم السيبرانية؟"
    assert table[0]["comment"] == comment
    assert read_answers(GCI, data).answers == {"gci.p1.q1": (P, comment)}


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_gets_an_apostrophe(start: str) -> None:
    comment = f"{start}cmd|' /C calc'!A0"
    users = {"u-lead": f"{start}lead@ma-cert.example"}
    consensus = {"gci.p1.q1": Consensus("gci.p1.q1", M, comment, "u-lead", T0)}
    text = export_csv(GCI, assessment(GCI, country=f"{start}MA"), consensus, [], [], users=users)

    row = rows(text)[0]
    assert row["comment"] == "'" + comment
    assert row["user"] == "'" + users["u-lead"]
    assert row["country"] == f"'{start}MA"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows(text) for cell in r.values())
    assert read_answers(GCI, text.encode()).answers == {"gci.p1.q1": (M, comment)}


def test_apostrophes_round_trip_and_plain_ones_are_left_alone() -> None:
    comments = {"gci.p1.q1": "'=x", "gci.p1.q2": "''", "gci.p1.q3": "'", "gci.p1.q4": "'quoted' text"}
    consensus = {i: Consensus(i, M, c, "u-lead", T0) for i, c in comments.items()}
    text = export_csv(GCI, assessment(GCI), consensus, [], [], users=USERS)

    assert [r["comment"] for r in rows(text)[:4]] == ["''=x", "'''", "'", "'quoted' text"]
    assert {i: c for i, (_, c) in read_answers(GCI, text.encode()).answers.items()} == comments


def test_export_refuses_another_models_answers() -> None:
    with pytest.raises(ValidationError) as caught:
        export_csv(CMM, assessment(GCI), {}, [], [], users=USERS)
    assert caught.value.field == "model"
    stray = [Contribution("cmm.d1.f1.i1", "u-amal", M, "", T0)]
    with pytest.raises(ValidationError) as caught:
        export_json(GCI, assessment(GCI), {}, stray, [], users=USERS)
    assert caught.value.field == "contributions"
    assert "cmm.d1.f1.i1" in caught.value.reason


# --------------------------------------------------------------------------------------------- JSON export


def test_json_export_shape() -> None:
    consensus, contributions, evidence = small_campaign()
    final = assessment(GCI, state=State.FINAL, final_us=T0 + 9_000_000, final_digest="d" * 64, target_stage=None)
    exported = export_json(GCI, final, consensus, contributions, evidence, users=USERS, language="fr")

    assert json.loads(json.dumps(exported)) == exported
    assert list(exported) == ["assessment", "language", "answers"]
    assert exported["language"] == "fr"
    assert exported["assessment"] == {
        "id": "a-1",
        "title": "Morocco 2026",
        "country": "MA",
        "org_id": "org-ma",
        "model": "gci-style@2026.1",
        "state": "final",
        "lead": "lead@ma-cert.example",
        "target_stage": None,
        "previous_id": None,
        "created": "2026-01-01T00:00:00.000000Z",
        "updated": "2026-01-01T00:00:05.000000Z",
        "review": "2026-01-01T00:00:04.000000Z",
        "final": "2026-01-01T00:00:09.000000Z",
        "final_digest": "d" * 64,
    }
    assert [a["indicator_id"] for a in exported["answers"]] == [i.id for i in GCI.indicators()]
    q1 = exported["answers"][0]
    assert list(q1) == [
        "indicator_id",
        "indicator",
        "dimension_id",
        "factor_id",
        "aspect_id",
        "stage",
        "weight",
        "consensus",
        "contributions",
        "evidence",
    ]
    assert q1["indicator"] == "Une loi en vigueur définit-elle les infractions de cybercriminalité ?"
    assert (q1["dimension_id"], q1["factor_id"], q1["aspect_id"], q1["stage"], q1["weight"]) == (
        "gci.p1",
        "gci.p1.a1",
        None,
        None,
        3.0,
    )
    assert q1["consensus"] == {
        "answer": "met",
        "comment": "Law 05-20 in force",
        "decided_by": "lead@ma-cert.example",
        "decided": "2026-01-01T00:00:00.000010Z",
        "disagreement": [
            {"user": "amal@ma-cert.example", "answer": "met"},
            {"user": "omar@ma-cert.example", "answer": "partly_met"},
        ],
    }
    assert q1["contributions"] == [
        {"user": "amal@ma-cert.example", "answer": "met", "comment": "", "updated": "2026-01-01T00:00:00.000002Z"},
        {
            "user": "omar@ma-cert.example",
            "answer": "partly_met",
            "comment": "draft decree pending",
            "updated": "2026-01-01T00:00:00.000003Z",
        },
    ]
    # Every piece of evidence, whatever its status, oldest first, with the fields of its kind.
    assert [(e["kind"], e["status"]) for e in q1["evidence"]] == [
        ("link", "accepted"),
        ("document", "rejected"),
        ("document", "accepted"),
        ("platform", "accepted"),
        ("platform", "proposed"),
    ]
    assert q1["evidence"][0] == {
        "id": "e-gci.p1.q1-10",
        "kind": "link",
        "title": "link",
        "status": "accepted",
        "url": "https://sgg.gov.ma/law-05-20",
        "added_by": "amal@ma-cert.example",
        "added": "2026-01-01T00:00:00.000010Z",
        "decided_by": None,
        "decided": None,
    }
    assert {k: q1["evidence"][2][k] for k in ("filename", "media_type", "size", "sha256")} == {
        "filename": "law-05-20.pdf",
        "media_type": "application/pdf",
        "size": 1234,
        "sha256": "ab" * 32,
    }
    assert {k: q1["evidence"][3][k] for k in ("metric", "value", "window_start", "window_end", "decided_by")} == {
        "metric": "intel.shared_objects",
        "value": "1,204 objects",
        "window_start": "2025-12-31T00:00:00.000000Z",
        "window_end": "2026-01-01T00:00:00.000000Z",
        "decided_by": "lead@ma-cert.example",
    }
    q2 = exported["answers"][1]
    assert q2["consensus"] is None
    assert q2["contributions"] == [
        {"user": "u-stranger", "answer": "not_met", "comment": "", "updated": "2026-01-01T00:00:00.000004Z"}
    ]
    assert q2["evidence"] == []


def test_json_export_of_a_stages_model_carries_the_stage() -> None:
    exported = export_json(CMM, assessment(CMM), {}, [], [], users=USERS)
    assert [(a["indicator_id"], a["stage"]) for a in exported["answers"][:3]] == [
        ("cmm.d1.f1.i1", "start-up"),
        ("cmm.d1.f1.i2", "formative"),
        ("cmm.d1.f1.i3", "established"),
    ]


# --------------------------------------------------------------------------------------------- CSV import


def test_every_bad_csv_row_is_reported_by_line_and_the_good_rows_are_kept() -> None:
    long = "x" * (MAX_COMMENT + 1)
    text = (
        "indicator_id,answer,comment\r\n"
        "gci.p1.q1,met,in force\r\n"  # 2
        "gci.p9.q9,met,\r\n"  # 3 unknown indicator
        "gci.p1.q2,yes,\r\n"  # 4 not an answer
        "gci.p1.q1,not_met,changed my mind\r\n"  # 5 answered again
        'gci.p1.q3,partly met,"two\nlines"\r\n'  # 6-7
        f"gci.p1.q4,met,{long}\r\n"  # 8 comment too long
        ",met,\r\n"  # 9 no indicator id
        "gci.p2.q1,,only a comment\r\n"  # 10 no answer
        "gci.p2.q2,,\r\n"  # 11 nothing: skipped
        "\r\n"  # 12 blank: ignored
        f"gci.p2.q3, Not-Met ,{'y' * MAX_COMMENT}\r\n"  # 13
    )
    result = read(GCI, text)

    assert result.answers == {
        "gci.p1.q1": (M, "in force"),
        "gci.p1.q3": (P, "two\nlines"),
        "gci.p2.q3": (N, "y" * MAX_COMMENT),
    }
    assert result.problems == (
        "line 3: indicator 'gci.p9.q9' is not in model gci-style@2026.1",
        "line 4: indicator 'gci.p1.q2': answer 'yes' is not one of met, partly_met, not_met, unknown",
        "line 5: indicator 'gci.p1.q1' is answered again (the one at line 2 is kept)",
        "line 8: indicator 'gci.p1.q4': the comment has 4,001 characters, more than the 4,000 allowed",
        "line 9: no indicator_id",
        "line 10: indicator 'gci.p2.q1' has a comment but no answer",
    )
    assert result.skipped == 1


def test_a_byte_order_mark_is_ignored() -> None:
    data = "\ufeffindicator_id,answer\ngci.p1.q1,met\n".encode()
    assert read_answers(GCI, data).answers == {"gci.p1.q1": (M, "")}
    data = '\ufeff{"gci.p1.q1": "unknown"}'.encode()
    assert read_answers(GCI, data).answers == {"gci.p1.q1": (U, "")}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("indicator_id,answer\ngci.p1.q1,met,\u00e9t\u00e9\n".encode("latin-1"), "not UTF-8: byte 0xe9 on line 2"),
        ("indicator_id,answer\n".encode("utf-16"), "UTF-16"),
        (b"\xfe\xff\x00i\x00d", "UTF-16"),
    ],
)
def test_a_file_that_is_not_utf8_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        read_answers(GCI, data)
    assert caught.value.field == "encoding"
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("indicator_id,comment", "answer"),
        ("id,answer,comment", "indicator_id"),
        ("indicator,response", "indicator_id and answer"),
    ],
)
def test_a_csv_file_without_the_required_columns_is_refused(header: str, missing: str) -> None:
    with pytest.raises(ValidationError) as caught:
        read(GCI, f"{header}\ngci.p1.q1,met\n")
    assert caught.value.field == "columns"
    assert f"lacks the column {missing} (" in caught.value.reason


@pytest.mark.parametrize(
    ("data", "options", "field", "reason"),
    [
        (b"", {}, "file", "empty"),
        (b"  \n\n", {}, "file", "empty"),
        (b"Dear assessor,\nplease find our answers attached.\n", {}, "columns", "lacks the column"),
        (b"indicator_id\x00answer\n", {}, "file", "binary"),
        (b'{"gci.p1.q1": "met",', {}, "file", "not valid JSON"),
        (b'"met"', {"filename": "answers.json"}, "file", "must be an object or a list, not a string"),
        (b"[1, 2]", {"fmt": "xml"}, "fmt", "'xml' is not a format"),
        (b"indicator_id,answer,answer\n", {}, "columns", "'answer' appears twice"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused(data: bytes, options: dict[str, str], field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        read_answers(GCI, data, **options)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_semicolon_and_tab_separated_files_with_loose_headers_are_read() -> None:
    semicolons = "Indicator ID;Answer;Comment\ngci.p1.q1;Partly met;a, b\n"
    tabs = "indicator-id\tanswer\ngci.p1.q2\tnot_met\n"
    assert read(GCI, semicolons).answers == {"gci.p1.q1": (P, "a, b")}
    assert read(GCI, tabs).answers == {"gci.p1.q2": (N, "")}


def test_only_rows_of_the_chosen_source_and_user_are_read() -> None:
    text = (
        "source,user,indicator_id,answer,comment\n"
        "consensus,lead@ma-cert.example,gci.p1.q1,met,agreed\n"
        "contributor,amal@ma-cert.example,gci.p1.q1,partly_met,mine\n"
        "contributor,omar@ma-cert.example,gci.p1.q1,not_met,\n"
        ",,gci.p1.q2,met,no source given\n"
        "Consensus,lead@ma-cert.example,gci.p1.q3,unknown,\n"
    )
    default = read(GCI, text)
    assert default.answers == {"gci.p1.q1": (M, "agreed"), "gci.p1.q2": (M, "no source given"), "gci.p1.q3": (U, "")}
    assert default.skipped == 2

    omar = read(GCI, text, source="contributor", user="omar@ma-cert.example")
    assert omar.answers == {"gci.p1.q1": (N, "")}
    assert omar.skipped == 4

    every = read(GCI, text, source=None)
    assert list(every.answers) == ["gci.p1.q1", "gci.p1.q2", "gci.p1.q3"]
    assert every.problems == (
        "line 3: indicator 'gci.p1.q1' is answered again (the one at line 2 is kept)",
        "line 4: indicator 'gci.p1.q1' is answered again (the one at line 2 is kept)",
    )


def test_the_format_comes_from_fmt_then_the_file_name_then_the_content() -> None:
    data = b'[{"indicator_id": "gci.p1.q1", "answer": "met"}]'
    assert read_answers(GCI, data).answers == {"gci.p1.q1": (M, "")}
    assert read_answers(GCI, data, filename="ANSWERS.JSON").answers == {"gci.p1.q1": (M, "")}
    with pytest.raises(ValidationError) as caught:
        read_answers(GCI, data, filename="answers.csv")
    assert caught.value.field == "columns"
    assert read_answers(GCI, data, filename="answers.csv", fmt="JSON").answers == {"gci.p1.q1": (M, "")}
    csv_data = b"indicator_id,answer\ngci.p1.q1,met\n"
    assert read_answers(GCI, csv_data, filename="answers.txt").answers == {"gci.p1.q1": (M, "")}
    with pytest.raises(ValidationError):
        read_answers(GCI, csv_data, fmt="json")


# --------------------------------------------------------------------------------------------- JSON import


def test_a_json_mapping_of_indicator_to_answer_is_read() -> None:
    data = {
        "gci.p1.q1": "met",
        "gci.p1.q2": {"answer": "partly met", "comment": "décret en préparation"},
        "gci.p1.q3": None,
        "gci.p1.q4": {"comment": "no answer here"},
        "gci.p9.q1": "met",
        "gci.p2.q1": 1,
        "gci.p2.q2": {"answer": "met", "comment": ["not", "text"]},
        "gci.p2.q3": "maybe",
    }
    result = read(GCI, json.dumps(data, ensure_ascii=False))

    assert result.answers == {"gci.p1.q1": (M, ""), "gci.p1.q2": (P, "décret en préparation")}
    assert result.problems == (
        "$[\"gci.p1.q4\"]: indicator 'gci.p1.q4' has a comment but no answer",
        "$[\"gci.p9.q1\"]: indicator 'gci.p9.q1' is not in model gci-style@2026.1",
        '$["gci.p2.q1"]: must be a string, not a number',
        '$["gci.p2.q2"].comment: must be a string, not a list',
        "$[\"gci.p2.q3\"]: indicator 'gci.p2.q3': answer 'maybe' is not one of met, partly_met, not_met, unknown",
    )
    assert result.skipped == 1


def test_a_json_mapping_that_repeats_an_indicator_keeps_the_first() -> None:
    result = read(GCI, '{"gci.p1.q1": "met", "gci.p1.q2": "met", "gci.p1.q1": "not_met"}')
    assert result.answers == {"gci.p1.q1": (M, ""), "gci.p1.q2": (M, "")}
    assert result.problems == ("$[\"gci.p1.q1\"]: indicator 'gci.p1.q1' appears again (the first is kept)",)


def test_a_json_list_of_answers_is_read_with_problems_by_path() -> None:
    data = [
        {"indicator_id": "gci.p1.q1", "answer": "met", "comment": "ok"},
        "gci.p1.q2",
        {"answer": "met"},
        {"indicator_id": "gci.p1.q1", "answer": "not_met"},
        {"indicator_id": "gci.p1.q3", "answer": "not met", "source": "contributor", "user": "amal@ma-cert.example"},
        {"indicator_id": "gci.p1.q4", "answer": "unknown", "comment": None, "source": "consensus"},
        {"indicator_id": 42, "answer": "met"},
    ]
    result = read(GCI, json.dumps(data))

    assert result.answers == {"gci.p1.q1": (M, "ok"), "gci.p1.q4": (U, "")}
    assert result.problems == (
        "$[1]: must be an object, not a string",
        "$[2]: no indicator_id",
        "$[3]: indicator 'gci.p1.q1' is answered again (the one at $[0] is kept)",
        "$[6].indicator_id: must be a string, not a number",
    )
    assert result.skipped == 1


def test_an_answers_member_wraps_either_shape() -> None:
    wrapped_list = {"answers": [{"indicator_id": "gci.p1.q1", "answer": "met"}]}
    wrapped_mapping = {"answers": {"gci.p1.q1": "met", "nope": "met"}}
    assert read(GCI, json.dumps(wrapped_list)).answers == {"gci.p1.q1": (M, "")}
    result = read(GCI, json.dumps(wrapped_mapping))
    assert result.answers == {"gci.p1.q1": (M, "")}
    assert result.problems == ("$.answers[\"nope\"]: indicator 'nope' is not in model gci-style@2026.1",)


def test_problems_in_an_exported_json_file_name_their_path() -> None:
    consensus, contributions, _ = small_campaign()
    exported = export_json(GCI, assessment(GCI), consensus, contributions, [], users=USERS)
    exported["answers"][0]["consensus"]["answer"] = "done"
    exported["answers"][2]["consensus"] = {"answer": "met", "comment": "x" * (MAX_COMMENT + 1)}
    exported["answers"][3]["consensus"] = "met"

    result = read(GCI, json.dumps(exported))

    assert result.answers == {}
    assert result.problems == (
        "$.answers[0].consensus: indicator 'gci.p1.q1': answer 'done' is not one of met, partly_met, not_met, unknown",
        "$.answers[2].consensus: indicator 'gci.p1.q3': the comment has 4,001 characters, more than the 4,000 allowed",
        "$.answers[3].consensus: must be an object or null, not a string",
    )


def test_rows_the_csv_reader_cannot_parse_are_reported_and_the_rest_is_read() -> None:
    huge = "x" * 200_000
    text = (
        "indicator_id,answer,comment\n"
        "gci.p1.q1,met,ok\n"  # 2
        f'gci.p1.q2,met,"{huge}"\n'  # 3 a field over the CSV reader's limit
        'gci.p1.q3,met,"closed"then more\n'  # 4 text after a closing quote
        "gci.p1.q4,not_met,fine\n"  # 5
        'gci.p2.q1,met,"never closed\n'  # 6, swallows 7 and 8
        "gci.p2.q2,met,\n"
        "gci.p2.q3,met,\n"
    )
    result = read(GCI, text)

    assert result.answers == {"gci.p1.q1": (M, "ok"), "gci.p1.q4": (N, "fine")}
    assert result.problems == (
        "line 3: unreadable CSV: field larger than field limit (131072)",
        "line 4: unreadable CSV: ',' expected after '\"'",
        "lines 6-8: unreadable CSV: unexpected end of data",
    )
