"""``ribat``: set up, run and administer a hub from the shell.

Commands that create a secret or an id print it alone on the last line of their
output, so scripts can take it with ``tail -n 1``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ribat.accounts import OrgKind, Principal, Role
from ribat.clock import format_us
from ribat.config import Settings, settings_markdown
from ribat.db import current_revision, upgrade
from ribat.errors import RibatError
from ribat.hub import Hub
from ribat.intel import Grant, ObjectFilter, Tlp
from ribat.intel.warninglists import load_directory

app = typer.Typer(help="Ribat: a coalition's cybersecurity hub.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
org_app = typer.Typer(help="Organisations (member teams).", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
key_app = typer.Typer(help="API keys.", no_args_is_help=True)
circle_app = typer.Typer(help="Trust circles.", no_args_is_help=True)
collection_app = typer.Typer(help="TAXII collections.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="key")
app.add_typer(circle_app, name="circle")
app.add_typer(collection_app, name="collection")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

BATCH = 1000


@contextmanager
def _hub(*, migrate: bool = False) -> Iterator[Hub]:
    hub = Hub.open(Settings(), migrate=migrate)
    try:
        yield hub
    except RibatError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    finally:
        hub.close()


def _principal(hub: Hub, user: str | None) -> Principal:
    if user is not None:
        return hub.accounts.principal_for(user)
    admins = [u for u in hub.accounts.list_users() if u.role is Role.ADMIN and u.is_active]
    if not admins:
        err.print("[red]error:[/red] no admin user; run `ribat init` first or pass --as EMAIL")
        raise typer.Exit(1)
    return hub.accounts.principal_for(admins[0].id)


def _grants(hub: Hub, specs: list[str], *, read: bool, write: bool) -> list[Grant]:
    grants = []
    for spec in specs:
        kind, _, ref = spec.partition(":")
        if kind == "community" and not ref:
            grants.append(Grant("community", "", read, write))
        elif kind == "org" and ref:
            grants.append(Grant("org", hub.accounts.get_org(ref).id, read, write))
        elif kind == "circle" and ref:
            grants.append(Grant("circle", hub.accounts.get_circle(ref).id, read, write))
        else:
            err.print(f"[red]error:[/red] {spec!r}: use org:SHORT_NAME, circle:NAME or community")
            raise typer.Exit(2)
    return grants


# -- setup ------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations."""
    settings = Settings()
    hub = Hub.open(settings, migrate=False)
    try:
        upgrade(hub.db.engine)
        out.print(f"database at revision {current_revision(hub.db.engine)}")
    finally:
        hub.close()


@app.command()
def init(
    org_name: Annotated[str, typer.Option(help="Name of the operating organisation.")] = "Hub operators",
    org_short: Annotated[str, typer.Option(help="Its short name.")] = "hub",
    country: Annotated[str, typer.Option(help="Its ISO 3166-1 alpha-2 country code.")] = "SA",
    email: Annotated[str, typer.Option(help="Email of the first admin user.")] = "admin@ribat.local",
    password: Annotated[
        str | None, typer.Option(help="Password of the first admin (else API key only).", envvar="RIBAT_ADMIN_PASSWORD")
    ] = None,
) -> None:
    """Migrate the database; when it has no admin, create the first admin and print an API key."""
    with _hub(migrate=True) as hub:
        if hub.accounts.has_admin():
            out.print("database is up to date; an admin already exists")
            return
        org = hub.accounts.create_org(org_name, org_short, country, OrgKind.SECRETARIAT)
        user = hub.accounts.create_user(email, org.id, Role.ADMIN, name="Administrator", password=password)
        key = hub.accounts.create_key(user.id, "init")
        out.print(f"created organisation {org.short_name} and admin {user.email}; API key (shown once):")
        print(key.secret)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only for more than one).")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the web interface and the TAXII 2.1 API."""
    import uvicorn

    settings = Settings()
    if workers > 1 and settings.is_sqlite:
        err.print("[red]error:[/red] --workers > 1 needs PostgreSQL (SQLite has a single writer)")
        raise typer.Exit(2)
    with _hub(migrate=True) as hub:
        hub.secret_key  # noqa: B018  (creates the stored secret before workers start)
    uvicorn.run(
        "ribat.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        proxy_headers=True,
    )


@app.command("settings")
def show_settings(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the settings reference as Markdown.")] = False,
) -> None:
    """Show the effective settings (or their reference)."""
    if markdown:
        sys.stdout.write(settings_markdown())
        return
    for name, value in Settings().model_dump().items():
        shown = "(set)" if name == "secret_key" and value else value
        out.print(f"RIBAT_{name.upper()}={shown}")


# -- organisations, users, keys, circles --------------------------------------------------


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Full name.")],
    short_name: Annotated[str, typer.Option("--short", help="Short name (unique).")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 code.")],
    kind: Annotated[OrgKind, typer.Option(help="Kind of organisation.")] = OrgKind.NATIONAL_CERT,
    identity: Annotated[
        str | None,
        typer.Option(help="Its STIX identity id, when it has one already (an organisation registered on a peer hub)."),
    ] = None,
) -> None:
    """Create an organisation (and its STIX identity); prints its id last."""
    with _hub() as hub:
        org = hub.accounts.create_org(name, short_name, country, kind, identity_id=identity)
        out.print(f"organisation {org.short_name} ({org.country}, {org.kind.value}), identity {org.identity_id}")
        print(org.id)


@org_app.command("list")
def org_list() -> None:
    """List organisations."""
    with _hub() as hub:
        table = Table("short name", "name", "country", "kind", "identity")
        for org in hub.accounts.list_orgs():
            table.add_row(org.short_name, org.name, org.country, org.kind.value, org.identity_id)
        out.print(table)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="Email (the login name).")],
    org: Annotated[str, typer.Option(help="Organisation short name or id.")],
    role: Annotated[Role, typer.Option(help="Role.")] = Role.ANALYST,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read a password from stdin.")] = False,
) -> None:
    """Create a user; prints the user id last."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with _hub() as hub:
        user = hub.accounts.create_user(email, org, role, name=name, password=password)
        out.print(f"user {user.email} ({user.role.value})")
        print(user.id)


@user_app.command("list")
def user_list(org: Annotated[str | None, typer.Option(help="Only this organisation.")] = None) -> None:
    """List users."""
    with _hub() as hub:
        org_id = hub.accounts.get_org(org).id if org else None
        table = Table("email", "role", "organisation", "active")
        orgs = {o.id: o.short_name for o in hub.accounts.list_orgs()}
        for u in hub.accounts.list_users(org_id):
            table.add_row(u.email, u.role.value, orgs.get(u.org_id, u.org_id), "yes" if u.is_active else "no")
        out.print(table)


@key_app.command("create")
def key_create(
    user: Annotated[str, typer.Argument(help="User email or id.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "default",
) -> None:
    """Create an API key; prints the key (shown once) alone on the last line."""
    with _hub() as hub:
        new = hub.accounts.create_key(user, name)
        out.print(f"API key {new.key.prefix} for {user} (shown once, store it now):")
        print(new.secret)


@key_app.command("list")
def key_list(user: Annotated[str, typer.Argument(help="User email or id.")]) -> None:
    """List a user's API keys (prefixes only)."""
    with _hub() as hub:
        table = Table("prefix", "name", "created", "last used", "revoked")
        for k in hub.accounts.list_keys(user):
            table.add_row(
                k.prefix,
                k.name,
                format_us(k.created_us),
                format_us(k.last_used_us) if k.last_used_us else "-",
                format_us(k.revoked_us) if k.revoked_us else "-",
            )
        out.print(table)


@key_app.command("revoke")
def key_revoke(prefix: Annotated[str, typer.Argument(help="Key prefix or id.")]) -> None:
    """Revoke an API key."""
    with _hub() as hub:
        key = hub.accounts.revoke_key(prefix)
        out.print(f"revoked key {key.prefix}")


@circle_app.command("create")
def circle_create(
    name: Annotated[str, typer.Argument(help="Circle name (unique).")],
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Create a trust circle; prints its id last."""
    with _hub() as hub:
        circle = hub.accounts.create_circle(name, description)
        out.print(f"trust circle {circle.name}")
        print(circle.id)


@circle_app.command("add")
def circle_add(
    name: Annotated[str, typer.Argument(help="Circle name or id.")],
    orgs: Annotated[list[str], typer.Argument(help="Organisation short names or ids.")],
) -> None:
    """Add organisations to a trust circle."""
    with _hub() as hub:
        circle = hub.accounts.add_to_circle(name, orgs)
        out.print(f"trust circle {circle.name} has {len(circle.member_org_ids)} member(s)")


@circle_app.command("list")
def circle_list() -> None:
    """List trust circles and their members."""
    with _hub() as hub:
        orgs = {o.id: o.short_name for o in hub.accounts.list_orgs()}
        table = Table("name", "members")
        for c in hub.accounts.list_circles():
            table.add_row(c.name, ", ".join(sorted(orgs.get(m, m) for m in c.member_org_ids)))
        out.print(table)


# -- collections, import, export -------------------------------------------------------------


@collection_app.command("create")
def collection_create(
    title: Annotated[str, typer.Argument(help="Title.")],
    description: Annotated[str, typer.Option(help="Description.")] = "",
    alias: Annotated[str | None, typer.Option(help="Unique alias usable instead of the id.")] = None,
    default_tlp: Annotated[
        str | None, typer.Option(help="TLP of unmarked objects: clear, green, amber, amber+strict, red.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Owning organisation (reads and writes).")] = None,
    read: Annotated[list[str], typer.Option(help="Grant read: org:SHORT, circle:NAME or community.")] = [],  # noqa: B006
    write: Annotated[list[str], typer.Option(help="Grant read and write: org:SHORT, circle:NAME or community.")] = [],  # noqa: B006
) -> None:
    """Create a TAXII collection; prints its id on the last line."""
    with _hub() as hub:
        tlp = None
        if default_tlp is not None:
            try:
                tlp = Tlp.parse(default_tlp)
            except ValueError as exc:
                err.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from None
        grants = _grants(hub, read, read=True, write=False) + _grants(hub, write, read=True, write=True)
        owner_id = hub.accounts.get_org(owner).id if owner else None
        c = hub.intel.create_collection(
            title, description=description, alias=alias, default_tlp=tlp, owner_org_id=owner_id, grants=grants
        )
        out.print(f"collection {c.title!r} (unmarked objects: {c.default_tlp.label})")
        print(c.id)


@collection_app.command("list")
def collection_list() -> None:
    """List collections with their object counts."""
    with _hub() as hub:
        table = Table("id", "title", "alias", "default TLP", "objects")
        for c in hub.intel.all_collections():
            table.add_row(c.id, c.title, c.alias or "", c.default_tlp.label, str(hub.intel.count(c.id)))
        out.print(table)


def _objects_of(path: Path) -> list[Any]:
    try:
        data = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise RibatError(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise RibatError(f"{path}: {exc.strerror}") from None
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("objects"), list):
        head = {k: v for k, v in data.items() if k != "objects"}
        # Keep a bundle's spec_version with each batch: 2.0 bundles carry it only there.
        return [{"__bundle__": head}, *data["objects"]]
    return [data]


@app.command("import")
def import_files(
    files: Annotated[list[Path], typer.Argument(help="STIX bundles, arrays or single objects (2.0 or 2.1).")],
    collection: Annotated[str, typer.Option(help="Target collection id or alias.")],
    as_user: Annotated[str | None, typer.Option("--as", help="Import as this user (default: the first admin).")] = None,
) -> None:
    """Import STIX files; reports what was stored and every object that failed, with its reason."""
    with _hub() as hub:
        principal = _principal(hub, as_user)
        hub.intel.collection(principal, collection)
        totals = {"stored": 0, "duplicates": 0, "failed": 0}
        failures: list[tuple[str, str, str]] = []
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
        )
        with progress:
            for path in files:
                items = _objects_of(path)
                head: dict[str, Any] = {}
                if items and isinstance(items[0], dict) and "__bundle__" in items[0]:
                    head = items.pop(0)["__bundle__"]
                task = progress.add_task(path.name, total=len(items))
                for start in range(0, len(items), BATCH):
                    batch = items[start : start + BATCH]
                    envelope = {**head, "objects": batch} if head.get("type") == "bundle" else {"objects": batch}
                    status = hub.intel.ingest(principal, collection, envelope)
                    for s in status.successes:
                        totals["duplicates" if s.message else "stored"] += 1
                    for f in status.failures:
                        totals["failed"] += 1
                        failures.append((path.name, f.id, f.message or ""))
                    progress.advance(task, len(batch))
        if totals["stored"]:
            hub.db.refresh_statistics(vacuum=True)
        for name, object_id, reason in failures:
            err.print(f"[yellow]failed[/yellow] {name}: {object_id}: {reason}")
        out.print(f"stored {totals['stored']}, already present {totals['duplicates']}, failed {totals['failed']}")
        if totals["failed"]:
            raise typer.Exit(1)


@app.command("export")
def export(
    collection: Annotated[str, typer.Option(help="Collection id or alias.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the STIX 2.1 bundle.")],
    as_user: Annotated[
        str | None, typer.Option("--as", help="Export what this user may read (default: the first admin).")
    ] = None,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Every version, not only the latest.")] = False,
) -> None:
    """Export a collection as one STIX 2.1 bundle (only what the user may read under TLP)."""
    import uuid

    with _hub() as hub:
        principal = _principal(hub, as_user)
        flt = ObjectFilter(versions=("all",) if all_versions else ("last",))
        count = 0
        tmp = out_file.with_name(out_file.name + ".part")
        with tmp.open("wb") as fh:
            fh.write(b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":[')
            token = None
            while True:
                page = hub.intel.objects(principal, collection, flt, limit=hub.settings.page_size_cap, next_token=token)
                for body in page.bodies:
                    if count:
                        fh.write(b",")
                    fh.write(body.encode())
                    count += 1
                if not page.more or page.next is None:
                    break
                token = page.next
            fh.write(b"]}")
        tmp.replace(out_file)
        out.print(f"wrote {count} objects to {out_file}")


@app.command()
def check(
    values: Annotated[list[str], typer.Argument(help="Values to check: IPs, networks, domains, URLs, hashes...")],
    lists: Annotated[
        Path | None,
        typer.Option("--lists", help="Directory of MISP warninglists (default: RIBAT_WARNINGLISTS_DIR)."),
    ] = None,
) -> None:
    """Say which MISP warninglists each value hits (name, type, matching entry)."""
    directory = lists if lists is not None else Settings().warninglists_dir
    if directory is None:
        err.print("[red]error:[/red] no warninglists configured: pass --lists DIR or set RIBAT_WARNINGLISTS_DIR")
        raise typer.Exit(2)
    if not directory.is_dir():
        err.print(f"[red]error:[/red] warninglists directory {directory} does not exist")
        raise typer.Exit(2)
    loaded = load_directory(directory)
    for problem in loaded.problems:
        err.print(f"warning: {problem}", markup=False, highlight=False)
    if not loaded.index.lists:
        err.print(f"[red]error:[/red] no warninglist loaded from {directory} (expected */list.json)")
        raise typer.Exit(2)
    for value in values:
        hits = loaded.index.hits(value)
        if not hits:
            out.print(f"{value}: no list", markup=False, highlight=False)
            continue
        out.print(f"{value}:", markup=False, highlight=False)
        for hit in hits:
            out.print(f"  {hit.list_name} ({hit.list_type}): {hit.matched_entry}", markup=False, highlight=False)


@app.command()
def related(
    query: Annotated[str, typer.Argument(help="A value (IP, network, domain, URL, e-mail, hash) or an object id.")],
    user: Annotated[
        str | None, typer.Option("--as", help="Answer as this user (email); default: the first admin.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """What is related to a value or an object: same values, containing and contained networks,
    parent and sub-domains, URLs on a host, under the user's TLP."""
    from ribat.web.api.related import correlation_json

    with _hub() as hub:
        answer = hub.intel.related(_principal(hub, user), query)
    if as_json:
        sys.stdout.write(orjson.dumps(correlation_json(answer), option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    asked = ", ".join(f"{k} {v}" for k, v in answer.asked)
    out.print(f"asked: {asked}", markup=False, highlight=False)
    if not answer.items and not answer.over_correlating:
        out.print("nothing related", markup=False, highlight=False)
    if answer.items:
        table = Table("relation", "value", "object", "name", "TLP", "collection")
        for i in answer.items:
            table.add_row(i.relation, f"{i.kind} {i.value}", i.object_id, i.name[:60], i.tlp.label, i.collection_id)
        out.print(table)
    for o in answer.over_correlating:
        out.print(
            f"over-correlating: {o.kind} {o.value} is in {'at least ' if o.at_least else ''}{o.count} objects "
            "(over the cap; not listed)",
            markup=False,
            highlight=False,
        )


@app.command()
def demo(
    url: Annotated[str, typer.Option(help="Where the hub will be served, for the printed links.")] = (
        "http://127.0.0.1:8000"
    ),
) -> None:
    """Initialise the database and load the demo coalition once (development mode only)."""
    from ribat.cli.demo import load_demo

    settings = Settings()
    if settings.mode == "production":
        err.print("[red]error:[/red] demo data is refused in production mode")
        raise typer.Exit(2)
    with _hub(migrate=True) as hub:
        load_demo(hub, out, url.rstrip("/"))


def _register_context_commands() -> None:
    from ribat.cli import assess, exports, feeds, hunt, imports, peers

    imports.register(app)
    exports.register(app)
    feeds.register(app)
    assess.register(app)
    hunt.register(app)
    peers.register(app)


_register_context_commands()


def main() -> None:
    app()
