"""``ribat assess``, in process (typer's runner): campaigns on SQLite and PostgreSQL, and offline scoring."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest
from click.testing import Result
from typer.testing import CliRunner

from ribat.capacity import (
    Answer,
    Assessments,
    Visibility,
    VisibilityScope,
    score_stages,
    score_weighted,
    shipped_models,
)
from ribat.capacity.types import Model
from ribat.config import Settings
from ribat.hub import Hub

Run = Callable[..., Result]

MODELS = {m.id: m for m in shipped_models()}
GCI = MODELS["gci-style"]
CMM = MODELS["coalition-cmm"]
CYCLE = ("met", "not_met", "partly_met", "unknown", "met")


def _runner(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Run:
    from ribat.cli import app

    monkeypatch.setenv("RIBAT_DATABASE_URL", database_url)
    monkeypatch.delenv("RIBAT_SECRET_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return invoke


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The ``ribat`` command on a migrated database (each engine), with a member organisation and its people."""
    run = _runner(monkeypatch, db_url)
    run("init")
    run("org", "create", "CERT of Jordan", "--short", "jo-cert", "--country", "JO")
    run("org", "create", "CERT of Oman", "--short", "om-cert", "--country", "OM")
    for email, org in (("lead@jo.example", "jo-cert"), ("rev@jo.example", "jo-cert"), ("ana@om.example", "om-cert")):
        run("user", "create", email, "--org", org)
    return run


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The ``ribat`` command with a database that cannot be opened: offline commands must not need one."""
    return _runner(monkeypatch, f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")


def last_line(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1]


def answers_csv(path: Path, model: Model, bad_row: int | None = None) -> dict[str, Answer]:
    """A CSV answering every indicator of ``model`` (cycling through the answers); the data row ``bad_row`` (1 for
    the first) gets an answer that is not one. Returns the answers that are valid."""
    valid: dict[str, Answer] = {}
    lines = ["indicator_id,answer,comment"]
    for number, indicator in enumerate(model.indicators(), start=1):
        answer = "maybe" if number == bad_row else CYCLE[number % len(CYCLE)]
        lines.append(f"{indicator.id},{answer},note {number}")
        if number != bad_row:
            valid[indicator.id] = Answer(answer)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return valid


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages).replace("\n", " ")


# --------------------------------------------------------------------------------------------- campaigns


def test_campaign_from_creation_to_final_score_report_and_export(cli: Run, tmp_path: Path) -> None:
    lead = ("--as", "lead@jo.example")
    created = cli("assess", "create", "--org", "jo-cert", "--model", "gci-style", "--title", "Jordan 2026", *lead)
    campaign = last_line(created)
    assert len(campaign) == 36 and "JO on gci-style@2026.1, lead lead@jo.example, draft" in created.stdout
    added = cli("assess", "participant", campaign, "rev@jo.example", "reviewer", *lead)
    assert "rev@jo.example is reviewer" in added.stdout

    # The reviewer's answers: the third row is not an answer; it is reported with its line and the rest are saved.
    given = tmp_path / "answers.csv"
    valid = answers_csv(given, GCI, bad_row=3)
    bad_id = list(GCI.indicators())[2].id
    imported = cli("assess", "import", campaign, str(given), "--as", "rev@jo.example")
    assert f"saved {len(valid)} answer(s) of rev@jo.example from answers.csv; 1 problem(s)" in imported.stdout
    assert f"line 4: indicator {bad_id!r}: answer 'maybe' is not one of" in imported.stderr
    shown = json.loads(cli("assess", "show", campaign, "--json", *lead).stdout)
    assert shown["state"] == "draft"
    assert shown["progress"] == {"indicators": 21, "answered": 20, "agreed": 20, "disputed": 0, "settled": 0}
    assert {(p["user"], p["role"]) for p in shown["participants"]} == {
        ("lead@jo.example", "lead"),
        ("rev@jo.example", "reviewer"),
    }

    assert "draft → review" in cli("assess", "state", campaign, "review", *lead).stdout
    settled = cli("assess", "settle-agreed", campaign, "--as", "rev@jo.example")
    assert "settled 20 agreed answer(s); 1 indicator(s) still to settle" in settled.stdout
    refused = cli("assess", "state", campaign, "final", *lead, code=1)
    assert f"1 indicator(s) have no consensus answer yet: {bad_id}" in refused.stderr
    fix = tmp_path / "fix.json"
    fix.write_text(json.dumps({bad_id: {"answer": "met", "comment": "settled in review"}}), encoding="utf-8")
    consensus = cli("assess", "import", campaign, str(fix), "--consensus", *lead)
    assert "saved 1 consensus answer(s) from fix.json; 0 problem(s)" in consensus.stdout
    assert "review → final" in cli("assess", "state", campaign, "final", *lead).stdout

    expected = score_weighted(GCI, {**valid, bad_id: Answer.MET})
    scored = json.loads(cli("assess", "score", campaign, "--json", *lead).stdout)
    assert scored["provisional"] is False and scored["kind"] == "weighted"
    assert scored["score"] == pytest.approx(expected.score)
    assert scored["tier"]["id"] == expected.tier.id
    assert [p["score"] for p in scored["pillars"]] == pytest.approx([p.score for p in expected.pillars])
    table = cli("assess", "score", campaign, *lead).stdout
    assert "Legal measures" in table and expected.tier.name["en"] in table

    report = tmp_path / "jordan.pdf"
    written = cli("assess", "report", campaign, "--lang", "en", "--format", "pdf", "--out", str(report), *lead)
    assert "wrote PDF report" in written.stdout
    text = pdf_text(report.read_bytes())
    assert "Jordan" in text and "Cooperative measures" in text
    arabic = tmp_path / "jordan-ar.html"
    cli("assess", "report", campaign, "--lang", "ar", "--out", str(arabic), *lead)
    page = arabic.read_text(encoding="utf-8")
    assert 'dir="rtl"' in page and GCI.dimensions[0].name["ar"] in page

    exported = tmp_path / "answers-out.csv"
    cli("assess", "export", campaign, "--format", "csv", "--out", str(exported), *lead)
    rows = list(csv.DictReader(io.StringIO(exported.read_text(encoding="utf-8"))))
    settled_rows = {r["indicator_id"]: r for r in rows if r["source"] == "consensus"}
    assert len(settled_rows) == 21
    assert (settled_rows[bad_id]["answer"], settled_rows[bad_id]["comment"]) == ("met", "settled in review")
    assert json.loads(cli("assess", "export", campaign, "--format", "json", *lead).stdout)

    listed = cli("assess", "list", "--country", "jo", "--state", "final", *lead).stdout
    assert campaign in listed and "1 of 1 campaign(s)" in listed
    bench = cli("assess", "benchmark", "gci-style", *lead).stdout
    assert "hidden (fewer than 3 countries)" in bench and "JO " in bench


def test_a_viewer_of_shared_results_gets_scores_without_the_campaign_record(
    cli: Run, db_url: str, tmp_path: Path
) -> None:
    lead = ("--as", "lead@jo.example")
    campaign = last_line(cli("assess", "create", "--org", "jo-cert", "--model", "gci-style", "--title", "J", *lead))
    given = tmp_path / "answers.csv"
    valid = answers_csv(given, GCI)
    cli("assess", "import", campaign, str(given), *lead)
    cli("assess", "state", campaign, "review", *lead)
    cli("assess", "settle-agreed", campaign, *lead)
    cli("assess", "state", campaign, "final", *lead)
    hub = Hub.open(Settings(database_url=db_url))
    try:
        principal = hub.accounts.principal_for("lead@jo.example")
        Assessments.for_hub(hub).set_visibility(principal, campaign, Visibility(VisibilityScope.COALITION))
    finally:
        hub.close()

    other = ("--as", "ana@om.example")
    listed = json.loads(cli("assess", "list", "--json", *other).stdout)["assessments"]
    assert [(a["id"], a["lead"], a["participants"]) for a in listed] == [(campaign, None, None)]
    shown = cli("assess", "show", campaign, *other).stdout
    assert "record and progress are shown to its participants only" in shown
    assert "lead@jo.example" not in shown and "state:           final" in shown
    scored = json.loads(cli("assess", "score", campaign, "--json", *other).stdout)
    assert scored["score"] == pytest.approx(score_weighted(GCI, valid).score)
    moved = cli("assess", "state", campaign, "draft", *other, code=1)
    assert "not allowed to read the campaign record of" in moved.stderr


def test_an_export_is_read_back_by_source(cli: Run, tmp_path: Path) -> None:
    lead = ("--as", "lead@jo.example")
    first, second = (
        last_line(cli("assess", "create", "--org", "jo-cert", "--model", "gci-style", "--title", t, *lead))
        for t in ("A", "B")
    )
    given = tmp_path / "answers.csv"
    valid = answers_csv(given, GCI)
    cli("assess", "import", first, str(given), *lead)
    exported = tmp_path / "first.csv"
    cli("assess", "export", first, "--out", str(exported), *lead)
    # Nothing is settled yet: the export's consensus rows are empty, so reading them saves nothing.
    none = cli("assess", "import", second, str(exported), *lead, code=1)
    assert "saved 0 answer(s)" in none.stdout
    mine = cli("assess", "import", second, str(exported), "--source", "contributor", *lead)
    assert f"saved {len(valid)} answer(s) of lead@jo.example" in mine.stdout
    shown = json.loads(cli("assess", "show", second, "--json", *lead).stdout)
    assert shown["progress"]["answered"] == len(valid)


def test_permission_errors_exit_non_zero_with_a_clear_message(cli: Run) -> None:
    outsider = cli(
        "assess", "create", "--org", "jo-cert", "--model", "gci-style", "--title", "x", "--as", "ana@om.example", code=1
    )
    assert "error: not allowed to create an assessment of jo-cert" in outsider.stderr
    campaign = last_line(
        cli(
            "assess",
            "create",
            "--org",
            "jo-cert",
            "--model",
            "coalition-cmm",
            "--title",
            "J",
            "--as",
            "lead@jo.example",
        )
    )
    cli("assess", "participant", campaign, "rev@jo.example", "contributor", "--as", "lead@jo.example")
    moved = cli("assess", "state", campaign, "review", "--as", "rev@jo.example", code=1)
    assert f"error: not allowed to change the state of assessment {campaign}" in moved.stderr
    hidden = cli("assess", "show", campaign, "--as", "ana@om.example", code=1)
    assert f"assessment '{campaign}' not found" in hidden.stderr
    assert (
        "--remove" in cli("assess", "participant", campaign, "rev@jo.example", "--as", "lead@jo.example", code=2).stderr
    )


def test_import_without_any_valid_answer_exits_one(cli: Run, tmp_path: Path) -> None:
    campaign = last_line(
        cli("assess", "create", "--org", "jo-cert", "--model", "gci-style", "--title", "J", "--as", "lead@jo.example")
    )
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("indicator_id,answer\ncmm.d1.f1.i1,met\ngci.p1.q1,perhaps\n", encoding="utf-8")
    result = cli("assess", "import", campaign, str(wrong), "--as", "lead@jo.example", code=1)
    assert "saved 0 answer(s)" in result.stdout
    assert "line 2: indicator 'cmm.d1.f1.i1' is not in model gci-style@2026.1" in result.stderr
    assert "line 3: indicator 'gci.p1.q1'" in result.stderr
    headless = tmp_path / "headless.csv"
    headless.write_text("id,value\ngci.p1.q1,met\n", encoding="utf-8")
    unreadable = cli("assess", "import", campaign, str(headless), "--as", "lead@jo.example", code=1)
    assert "lacks the column indicator_id and answer" in unreadable.stderr


def test_unknown_model_key_is_a_clear_error(cli: Run) -> None:
    result = cli("assess", "create", "--org", "jo-cert", "--model", "nope", "--title", "x", code=1)
    assert "no model 'nope' on this hub" in result.stderr and "gci-style@2026.1" in result.stderr
    assert "no model 'nope'" in cli("assess", "model", "nope", code=1).stderr


def test_models_lists_the_shipped_models_and_model_summarises_a_tree(cli: Run) -> None:
    listed = json.loads(cli("assess", "models", "--json").stdout)
    assert {(m["key"], m["kind"], m["indicators"]) for m in listed} >= {
        ("coalition-cmm@2026.1", "stages", 75),
        ("gci-style@2026.1", "weighted", 21),
    }
    tree = cli("assess", "model", "gci-style", "--lang", "fr").stdout
    assert "5 pillars, 10 factors, 21 questions" in tree
    assert "gci.p1  Mesures juridiques — weight 20 (20%)" in tree


# --------------------------------------------------------------------------------------------- offline


def test_offline_score_of_a_file_needs_no_database(offline: Run, tmp_path: Path) -> None:
    given = tmp_path / "gci.csv"
    valid = answers_csv(given, GCI, bad_row=1)
    result = offline("assess", "score", "--model", "gci-style", "--answers", str(given), "--json")
    expected = score_weighted(GCI, valid)
    scored = json.loads(result.stdout)
    assert scored["score"] == pytest.approx(expected.score) and scored["score_high"] == pytest.approx(
        expected.score_high
    )
    unknown = scored["pillars"][0]["unknown"]
    assert unknown == list(expected.pillars[0].unknown) and next(GCI.indicators()).id in unknown  # the bad row
    assert "warning: gci.csv: line 2:" in result.stderr

    answers = tmp_path / "cmm.json"
    chosen = {i.id: ("met" if n % 3 else "unknown") for n, i in enumerate(CMM.indicators())}
    answers.write_text(json.dumps(chosen), encoding="utf-8")
    table = offline("assess", "score", "--model", "coalition-cmm@2026.1", "--answers", str(answers)).stdout
    stages = score_stages(CMM, {k: Answer(v) for k, v in chosen.items()})
    first = stages.dimensions[0].factors[0]
    assert CMM.factor(first.factor_id).name["en"] in table
    assert f"{first.stage}–{first.stage_high}" in table


def test_offline_score_with_a_model_file(offline: Run, tmp_path: Path) -> None:
    model_file = tmp_path / "tiny.yaml"
    model_file.write_text(
        """
id: tiny
version: '1'
kind: weighted
title: {en: Tiny, ar: صغير, fr: Minuscule}
tiers: [{id: low, lower_bound: 0, name: {en: Low, ar: منخفض, fr: Bas}},
        {id: top, lower_bound: 60, name: {en: Top, ar: أعلى, fr: Haut}}]
dimensions:
- id: p
  name: {en: Pillar, ar: ركيزة, fr: Pilier}
  factors:
  - id: f
    name: {en: F, ar: ع, fr: F}
    indicators:
    - {id: q1, weight: 2, text: {en: One, ar: واحد, fr: Un}}
    - {id: q2, weight: 1, text: {en: Two, ar: اثنان, fr: Deux}}
""",
        encoding="utf-8",
    )
    answers = tmp_path / "a.json"
    answers.write_text('[{"indicator_id": "q1", "answer": "met"}, {"indicator_id": "q2", "answer": "not met"}]')
    out = offline("assess", "score", "--model-file", str(model_file), "--answers", str(answers)).stdout
    assert "score: 66.7 of 100, tier: Top" in out
    assert "1 pillars, 1 factors, 2 questions" in offline("assess", "model", "--model-file", str(model_file)).stdout


def test_offline_reports_of_both_kinds(offline: Run, tmp_path: Path) -> None:
    given = tmp_path / "gci.csv"
    answers_csv(given, GCI)
    pdf = tmp_path / "gci.pdf"
    offline("assess", "report", "--model", "gci-style", "--answers", str(given), "--country", "jo", "--out", str(pdf))
    assert "Jordan" in pdf_text(pdf.read_bytes())
    cmm = tmp_path / "cmm.csv"
    answers_csv(cmm, CMM)
    page = tmp_path / "cmm.html"
    offline(
        "assess",
        "report",
        "--model",
        "coalition-cmm",
        "--answers",
        str(cmm),
        "--country",
        "MA",
        "--lang",
        "fr",
        "--assessed",
        "20 novembre 2026",
        "--out",
        str(page),
    )
    text = page.read_text(encoding="utf-8")
    assert "Maroc" in text and "20 novembre 2026" in text and CMM.stages[0].name["fr"] in text
    assert "gap:coalition-cmm@2026.1:" in text  # the roadmap's gaps, as in a campaign's report


def test_offline_usage_errors_exit_two_and_unknown_models_one(offline: Run, tmp_path: Path) -> None:
    given = tmp_path / "gci.csv"
    answers_csv(given, GCI)
    mixed = offline("assess", "score", "some-id", "--answers", str(given), "--model", "gci-style", code=2)
    assert "not both" in mixed.stderr
    out = str(tmp_path / "r.html")
    no_country = offline("assess", "report", "--model", "gci-style", "--answers", str(given), "--out", out, code=2)
    assert "offline reports need --country CC" in no_country.stderr and not (tmp_path / "r.html").exists()
    unknown = offline("assess", "score", "--model", "nope", "--answers", str(given), code=1)
    assert "no shipped model 'nope'" in unknown.stderr and "gci-style@2026.1" in unknown.stderr
    nothing = offline("assess", "score", "--model", "coalition-cmm", "--answers", str(given), code=1)
    assert "no answer could be read for coalition-cmm@2026.1" in nothing.stderr
