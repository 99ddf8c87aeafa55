"""The demo coalition loaded by ``ribat demo`` / ``make run``: illustrative members of the
OIC-CERT community, ATT&CK for ICS, the OASIS example reports, indicators at every TLP
level, and capacity assessments (three final, so that the coalition benchmark shows, and one
in progress). Loaded once; every later run only issues a fresh admin API key."""

from __future__ import annotations

import random
import secrets
import uuid
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from ribat.accounts import Organisation, OrgKind, Principal, Role, User
from ribat.capacity import Answer, Assessments, Visibility, VisibilityScope
from ribat.clock import format_us
from ribat.errors import NotFoundError
from ribat.hub import Hub
from ribat.intel import SHARE_EXTENSION, Grant, Tlp
from ribat.intel.tlp import TLP_MARKING_IDS

__all__ = ["load_demo"]

DATA = Path(__file__).parent / "demo_data"
NAMESPACE = uuid.UUID("6a1f3e2c-9b7d-4c58-8e0f-1d2b3c4a5e6f")
ADMIN_EMAIL = "admin@ribat.local"

MEMBERS = [
    ("Demo National CERT of Malaysia", "my-cert", "MY", OrgKind.NATIONAL_CERT),
    ("Demo National CERT of Oman", "om-cert", "OM", OrgKind.NATIONAL_CERT),
    ("Demo National CERT of Nigeria", "ng-cert", "NG", OrgKind.NATIONAL_CERT),
    ("Demo Energy Sector CERT of Egypt", "eg-energy", "EG", OrgKind.SECTOR_CERT),
]

# TLP 2.0 marking ids come first in TLP_MARKING_IDS; keep the first id of each level.
_TLP2: dict[Tlp, str] = {}
for _mid, _level in TLP_MARKING_IDS.items():
    _TLP2.setdefault(_level, _mid)


def _id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, name)}"


def _indicator(name: str, pattern: str, tlp: Tlp, created: str, share_with: list[str] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": _id("indicator", name),
        "created": created,
        "modified": created,
        "name": name,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": created,
        "indicator_types": ["malicious-activity"],
        "object_marking_refs": [_TLP2[tlp]],
    }
    if share_with:
        obj["extensions"] = {SHARE_EXTENSION: {"extension_type": "property-extension", "share_with": share_with}}
    return obj


def _ingest_file(hub: Hub, principal: Principal, collection: str, path: Path) -> int:
    data = orjson.loads(path.read_bytes())
    objects = data["objects"]
    stored = 0
    for start in range(0, len(objects), 1000):
        envelope = {**{k: v for k, v in data.items() if k != "objects"}, "objects": objects[start : start + 1000]}
        status = hub.intel.ingest(principal, collection, envelope)
        stored += status.success_count
    return stored


def _load(hub: Hub, out: Console) -> None:
    accounts = hub.accounts
    admin = next(u for u in accounts.list_users() if u.role is Role.ADMIN)
    admin_p = accounts.principal_for(admin.id)
    members = []
    for name, short, country, kind in MEMBERS:
        org = accounts.create_org(name, short, country, kind)
        user = accounts.create_user(f"analyst@{short}.demo", org.id, Role.ANALYST, name=f"{short} analyst")
        members.append((org, user))
    circle = accounts.create_circle("gulf-asia-wg", "Demo working group of the Malaysian and Omani CERTs")
    accounts.add_to_circle(circle.id, [members[0][0].id, members[1][0].id])

    intel = hub.intel
    community = Grant("community", "", can_read=True, can_write=False)
    community_rw = Grant("community", "", can_read=True, can_write=True)
    ics = intel.create_collection(
        "MITRE ATT&CK for ICS",
        alias="attack-ics",
        default_tlp=Tlp.CLEAR,
        grants=[community],
        description="ATT&CK for ICS v18.1 (MITRE), public reference knowledge",
    )
    reports = intel.create_collection(
        "OASIS example reports",
        alias="oasis-reports",
        default_tlp=Tlp.GREEN,
        grants=[community],
        description="APT1 and Poison Ivy reports in STIX 2.1 (OASIS examples)",
    )
    shared = intel.create_collection(
        "Member indicators",
        alias="member-indicators",
        default_tlp=Tlp.AMBER,
        grants=[community_rw],
        description="Indicators shared between member CERTs, at every TLP level",
    )
    n = _ingest_file(hub, admin_p, ics.id, DATA / "ics-attack-18.1.json")
    out.print(f"loaded ATT&CK for ICS: {n} objects")
    n = _ingest_file(hub, admin_p, reports.id, DATA / "apt1.json")
    n += _ingest_file(hub, admin_p, reports.id, DATA / "poisonivy.json")
    out.print(f"loaded OASIS example reports: {n} objects")

    my, om, ng, eg = (accounts.principal_for(u.id) for _, u in members)
    created = format_us(hub.intel.now())
    batches = [
        (
            my,
            [
                _indicator(
                    "Phishing domain seen by MY",
                    "[domain-name:value = 'login-portal-update.example']",
                    Tlp.CLEAR,
                    created,
                ),
                _indicator(
                    "C2 address shared with the WG",
                    "[ipv4-addr:value = '203.0.113.45']",
                    Tlp.AMBER,
                    created,
                    ["circle:gulf-asia-wg"],
                ),
                _indicator("Internal sinkhole hit", "[ipv4-addr:value = '198.51.100.7']", Tlp.AMBER_STRICT, created),
                # A private address: flagged by the RFC 1918 warninglist at ingest.
                _indicator("Beaconing host (internal)", "[ipv4-addr:value = '10.20.30.40']", Tlp.GREEN, created),
            ],
        ),
        (
            om,
            [
                _indicator(
                    "Loader hash from OM",
                    "[file:hashes.'SHA-256' = '3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a']",
                    Tlp.GREEN,
                    created,
                ),
                _indicator(
                    "Victim-specific URL",
                    "[url:value = 'https://files.example.net/invoice.iso']",
                    Tlp.RED,
                    created,
                    ["user:analyst@my-cert.demo"],
                ),
            ],
        ),
        (
            ng,
            [
                _indicator(
                    "BEC sender address", "[email-addr:value = 'ceo-office@payments.example']", Tlp.GREEN, created
                ),
                _indicator(
                    "Banking trojan C2",
                    "[domain-name:value = 'cdn-sync.example.org']",
                    Tlp.AMBER,
                    created,
                    ["org:eg-energy"],
                ),
            ],
        ),
        (
            eg,
            [
                _indicator("ICS scanner address", "[ipv4-addr:value = '192.0.2.200']", Tlp.AMBER, created),
                # Related to MY's C2 address (a network containing it) and to MY's phishing domain.
                _indicator("Bulletproof hosting range", "[ipv4-addr:value = '203.0.113.0/24']", Tlp.GREEN, created),
                _indicator(
                    "Phishing kit URL",
                    "[url:value = 'http://secure.login-portal-update.example/kit.zip']",
                    Tlp.GREEN,
                    created,
                ),
                # The SHA-256 of an empty file: flagged by the empty-hashes warninglist.
                _indicator(
                    "Dropped file (empty)",
                    "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
                    Tlp.GREEN,
                    created,
                ),
            ],
        ),
    ]
    for principal, objects in batches:
        intel.ingest(principal, shared.id, {"objects": objects})
    out.print(f"loaded {sum(len(b) for _, b in batches)} member indicators at every TLP level")
    _assessments(hub, admin_p, members, out)


# How likely an indicator at each stage level is met in a demo country's answers (illustrative, seeded).
_MATURITY = {"my-cert": 0.85, "om-cert": 0.7, "ng-cert": 0.55, "eg-energy": 0.6}


def _answers(assessments: Assessments, key: str, seed: str) -> dict[str, tuple[Answer, str]]:
    model = assessments.model(key)
    levels = {stage.id: stage.level for stage in model.stages}
    rng = random.Random(f"{key}:{seed}")  # noqa: S311  (illustrative demo answers, not a secret)
    chance = _MATURITY[seed]
    answers = {}
    for indicator in model.indicators():
        level = levels.get(indicator.stage or "", 1)
        roll = rng.random()
        p = chance**level
        if roll < p:
            answer = Answer.MET
        elif roll < p + 0.15:
            answer = Answer.PARTLY_MET
        elif roll < p + 0.2:
            answer = Answer.UNKNOWN
        else:
            answer = Answer.NOT_MET
        answers[indicator.id] = (answer, "")
    return answers


def _assessments(hub: Hub, admin: Principal, members: list[tuple[Organisation, User]], out: Console) -> None:
    """Final campaigns on the coalition model for Malaysia, Oman and Egypt (Malaysia shares its results with the
    coalition) and a campaign in draft for Nigeria with a contributor from Malaysia."""
    assessments = Assessments.for_hub(hub)
    key = "coalition-cmm@2026.1"
    accounts = hub.accounts
    for org, user in members:
        lead = accounts.principal_for(user.id)
        made = assessments.create(
            admin, org_ref=org.id, model_key=key, title=f"{org.short_name} national review 2026", lead_ref=user.id
        )
        answers = _answers(assessments, key, org.short_name)
        if org.short_name == "ng-cert":
            helper = members[0][1]
            assessments.add_participant(lead, made.id, helper.id, "contributor")
            assessments.answer(lead, made.id, dict(list(answers.items())[:30]))
            assessments.propose_platform_evidence(lead, made.id)
            continue
        assessments.answer(lead, made.id, answers)
        assessments.transition(lead, made.id, "review")
        assessments.settle_agreed(lead, made.id)
        assessments.transition(lead, made.id, "final")
        if org.short_name == "my-cert":
            assessments.set_visibility(lead, made.id, Visibility(VisibilityScope.COALITION))
    out.print("loaded capacity assessments: 3 final (MY, OM, EG), 1 in draft (NG)")


def load_demo(hub: Hub, out: Console, url: str = "http://127.0.0.1:8000") -> None:
    accounts = hub.accounts
    if not accounts.has_admin():
        org = accounts.create_org("Coalition secretariat (demo)", "secretariat", "SA", OrgKind.SECRETARIAT)
        password = secrets.token_urlsafe(12)
        accounts.create_user(ADMIN_EMAIL, org.id, Role.ADMIN, name="Demo administrator", password=password)
        out.print(f"created admin {ADMIN_EMAIL} with password {password}")
    try:
        accounts.get_org("my-cert")
        out.print("demo coalition already loaded")
    except NotFoundError:
        _load(hub, out)
    admin = next(u for u in accounts.list_users() if u.role is Role.ADMIN)
    for key in accounts.list_keys(admin.id):
        if key.name == "demo" and key.revoked_us is None:
            accounts.revoke_key(key.id)
    new = accounts.create_key(admin.id, "demo")
    out.print(f"Ribat hub: {url}/   TAXII 2.1 discovery: {url}/taxii2/")
    out.print("admin API key (send as 'Authorization: Bearer <key>'):")
    print(new.secret)
