from __future__ import annotations

import pytest

from ribat.accounts import OrgKind, Role
from ribat.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from ribat.hub import Hub


def test_organisation_gets_a_stix_identity(hub: Hub) -> None:
    org = hub.accounts.create_org("National CERT of Oman", "om-cert", "om", OrgKind.NATIONAL_CERT)
    assert org.country == "OM"
    identity = hub.accounts.identity_object(org.id)
    assert identity["type"] == "identity"
    assert identity["id"] == org.identity_id
    assert identity["identity_class"] == "organization"
    assert identity["name"] == "National CERT of Oman"
    assert hub.accounts.get_org(org.identity_id) == org
    assert hub.accounts.get_org("om-cert") == org


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "", "short_name": "x", "country": "OM"}, "name"),
        ({"name": "X", "short_name": "bad name!", "country": "OM"}, "short_name"),
        ({"name": "X", "short_name": "x", "country": "ZZ"}, "country"),
        ({"name": "X", "short_name": "x", "country": "OM", "kind": "club"}, "kind"),
    ],
)
def test_invalid_organisation_names_the_field(hub: Hub, kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        hub.accounts.create_org(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_short_names_are_unique(hub: Hub) -> None:
    hub.accounts.create_org("A", "dup", "MY")
    with pytest.raises(ConflictError):
        hub.accounts.create_org("B", "dup", "MY")


def test_password_is_stored_as_argon2id_and_verified(hub: Hub) -> None:
    org = hub.accounts.create_org("A", "a", "MY")
    hub.accounts.create_user("Ana@Example.org", org.id, Role.ANALYST, password="correct horse battery")
    from ribat.accounts import _tables as t

    with hub.db.read() as conn:
        stored = conn.execute(t.users.select()).one().password_hash
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    principal = hub.accounts.authenticate_password("ana@example.org", "correct horse battery")
    assert principal.user.email == "ana@example.org"
    assert principal.org.id == org.id
    with pytest.raises(AuthenticationError):
        hub.accounts.authenticate_password("ana@example.org", "wrong password!")
    with pytest.raises(AuthenticationError):
        hub.accounts.authenticate_password("nobody@example.org", "correct horse battery")


def test_short_passwords_are_refused(hub: Hub) -> None:
    org = hub.accounts.create_org("A", "a", "MY")
    with pytest.raises(ValidationError) as info:
        hub.accounts.create_user("a@example.org", org.id, password="short")
    assert info.value.field == "password"


def test_api_key_is_shown_once_stored_hashed_and_revocable(hub: Hub) -> None:
    org = hub.accounts.create_org("A", "a", "MY")
    user = hub.accounts.create_user("a@example.org", org.id, Role.READER)
    new = hub.accounts.create_key(user.id, "sync job")
    assert new.secret.startswith(f"rbt_{new.key.prefix}_")
    from ribat.accounts import _tables as t

    with hub.db.read() as conn:
        row = conn.execute(t.api_keys.select()).one()
    assert new.secret not in (row.key_hash, row.prefix)
    assert row.prefix == new.key.prefix
    principal = hub.accounts.authenticate_key(new.secret)
    assert principal.user.id == user.id
    assert principal.via_key_id == new.key.id
    assert hub.accounts.list_keys(user.id)[0].last_used_us is not None
    hub.accounts.revoke_key(new.key.prefix)
    with pytest.raises(AuthenticationError, match="revoked"):
        hub.accounts.authenticate_key(new.secret)


def test_a_guessed_key_with_a_real_prefix_is_refused(hub: Hub) -> None:
    org = hub.accounts.create_org("A", "a", "MY")
    user = hub.accounts.create_user("a@example.org", org.id)
    new = hub.accounts.create_key(user.id)
    forged = f"rbt_{new.key.prefix}_{'x' * 43}"
    with pytest.raises(AuthenticationError):
        hub.accounts.authenticate_key(forged)
    with pytest.raises(AuthenticationError, match="malformed"):
        hub.accounts.authenticate_key("not-a-key")


def test_disabled_user_cannot_authenticate(hub: Hub) -> None:
    org = hub.accounts.create_org("A", "a", "MY")
    user = hub.accounts.create_user("a@example.org", org.id)
    new = hub.accounts.create_key(user.id)
    hub.accounts.set_active(user.id, False)
    with pytest.raises(AuthenticationError, match="disabled"):
        hub.accounts.authenticate_key(new.secret)


def test_trust_circles_collect_organisations(hub: Hub) -> None:
    a = hub.accounts.create_org("A", "a", "MY")
    b = hub.accounts.create_org("B", "b", "OM")
    circle = hub.accounts.create_circle("wg", "working group")
    circle = hub.accounts.add_to_circle("wg", ["a", b.identity_id])
    assert circle.member_org_ids == {a.id, b.id}
    user = hub.accounts.create_user("u@a.example", a.id)
    assert hub.accounts.principal_for(user.id).circle_ids == {circle.id}
    circle = hub.accounts.remove_from_circle("wg", "a")
    assert circle.member_org_ids == {b.id}
    with pytest.raises(NotFoundError):
        hub.accounts.add_to_circle("nope", ["a"])


def test_hub_secret_is_generated_once(hub: Hub) -> None:
    first = hub.accounts.hub_secret("example", lambda: "one")
    second = hub.accounts.hub_secret("example", lambda: "two")
    assert first == second == "one"


def test_every_oic_member_country_is_accepted(hub: Hub, data_dir) -> None:  # type: ignore[no-untyped-def]
    import csv

    with (data_dir / "countries" / "countries_iso_oic.csv").open() as fh:
        members = [r for r in csv.DictReader(fh) if r["oic_member"].strip().lower() in ("true", "yes", "1", "member")]
    assert len(members) >= 50
    for i, row in enumerate(members):
        hub.accounts.create_org(row["name_en"], f"org{i}", row["iso2"])
