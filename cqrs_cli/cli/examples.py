"""Real examples ending each command's --help and its section of docs/reference.md.

Each one runs as written on the demo file (`cqrs --db demo.db sync --demo`); the Odoo ones
against an Odoo at that URL (the password or API key in ODOO_PASSWORD). A test runs every
one of them, and fails when a command has none.
"""

from __future__ import annotations

ODOO = "--url https://odoo.example.com --database crm --user bot@example.com"
HOOK = "https://hooks.example.com/crm"

# Command path (after `cqrs`, "" for cqrs itself) → (what it does, the command line).
EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "": (
        ("Sync the embedded demo organisation into demo.db", "cqrs --db demo.db sync --demo"),
        ("What Vinsha can see, and why", "cqrs --db demo.db view --as vinsha"),
    ),
    "migrate": (
        ("Create a file, or bring one up to date", "cqrs --db demo.db migrate"),
        ("List applied and pending migrations", "cqrs --db demo.db migrate --status"),
    ),
    "migrate legacy": (
        (
            "What importing the old app's exports would do, writing nothing",
            "cqrs --db legacy.db migrate legacy --data data_lake_serving.json "
            "--users users.json --dry-run",
        ),
    ),
    "verify": (("Check the file and print its head", "cqrs --db demo.db verify"),),
    "backup": (
        ("A consistent copy, safe while a sync writes", "cqrs --db demo.db backup copy.db"),
    ),
    "events": (
        ("The history of opportunity 1", "cqrs --db demo.db events --stream crm.lead:1"),
        (
            "The newest five events as JSON",
            "cqrs --db demo.db events --newest --limit 5 --format json",
        ),
    ),
    "sync": (
        ("Sync the embedded demo organisation", "cqrs --db demo.db sync --demo"),
        ("Sync from Odoo (password in ODOO_PASSWORD)", f"cqrs --db crm.db sync {ODOO}"),
    ),
    "export": (
        (
            "Write a snapshot file from Odoo (password in ODOO_PASSWORD)",
            f"cqrs export snapshot.json {ODOO}",
        ),
    ),
    "view": (
        (
            "Vinsha's three biggest deals, and why she sees each",
            "cqrs --db demo.db view --as vinsha --sort revenue:desc --limit 3",
        ),
        (
            "What Vinsha could see right after position 30 (quote the #; or a date, or 7d)",
            "cqrs --db demo.db view --as vinsha --as-of '#30'",
        ),
        (
            "Zakariya's open opportunities as JSON",
            "cqrs --db demo.db view --as zakariya --status open --format json",
        ),
    ),
    "whoami-can-see": (
        (
            "Ids Vinsha can see, with the reasons",
            "cqrs --db demo.db whoami-can-see --as vinsha --explain",
        ),
    ),
    "metrics": (("Vinsha's pipeline, own and team", "cqrs --db demo.db metrics --as vinsha"),),
    "users": (
        ("The org chart", "cqrs --db demo.db users --tree"),
        ("The org chart right after position 10", "cqrs --db demo.db users --tree --as-of '#10'"),
    ),
    "history": (
        ("The timeline of opportunity 3", "cqrs --db demo.db history 3"),
        (
            "Found by a part of its name, as JSON",
            "cqrs --db demo.db history 'lumber: lobby' --format json",
        ),
    ),
    "changes": (
        (
            "What changed in what Zakariya can see since position 30 (quote the #)",
            "cqrs --db demo.db changes --as zakariya --since '#30'",
        ),
        (
            "Between two positions, as JSON",
            "cqrs --db demo.db changes --as vinsha --since '#40' --until '#59' --format json",
        ),
    ),
    "status": (("Is every view current?", "cqrs --db demo.db status"),),
    "rebuild": (
        ("Replay the log into every view", "cqrs --db demo.db rebuild --all"),
        ("Only the opportunities", "cqrs --db demo.db rebuild --projection opportunity_view"),
    ),
    "dead-letters": (
        ("Events a webhook or a handler gave up on", "cqrs --db demo.db dead-letters"),
        ("Send them again: a paused webhook resumes", "cqrs --db demo.db dead-letters --retry"),
    ),
    "webhooks": (
        (
            "POST each opportunity change, signed with the key in CQRS_HOOK_KEY",
            f"cqrs --db demo.db webhooks add {HOOK} --type OdooOpportunityUpdated "
            "--secret-env CQRS_HOOK_KEY --name crm",
        ),
        ("Each webhook's checkpoint, lag and state", "cqrs --db demo.db webhooks list"),
    ),
    "webhooks add": (
        (
            "Opportunity changes, signed with the key in CQRS_HOOK_KEY",
            f"cqrs --db demo.db webhooks add {HOOK} --type OdooOpportunityUpdated "
            "--secret-env CQRS_HOOK_KEY --name crm",
        ),
        (
            "Every event, unsigned, to a local service",
            "cqrs --db demo.db webhooks add http://127.0.0.1:8000/",
        ),
    ),
    "webhooks list": (("The webhooks as JSON", "cqrs --db demo.db webhooks list --format json"),),
    # Runs after the first `webhooks add` example (tests/test_cli_usage.py).
    "webhooks remove": (("Remove the webhook named crm", "cqrs --db demo.db webhooks remove crm"),),
    "validate": (
        (
            "The CI check of the demo's counts",
            "cqrs --db demo.db validate --expect users=7 --expect opportunities=23",
        ),
        ("Also rebuild every view aside and compare", "cqrs --db demo.db validate --deep"),
    ),
    "datasette-metadata": (
        (
            "Metadata that hides the internal tables, for datasette --metadata",
            "cqrs --db demo.db datasette-metadata --output demo-metadata.json",
        ),
    ),
}


def epilog(path: str) -> str | None:
    """The examples of `cqrs PATH` as --help prints them (rich markup escaped)."""
    examples = EXAMPLES.get(path)
    if not examples:
        return None
    lines = ["Examples:"]
    for what, line in examples:
        lines += [f"{what}:", f"  {line}"]
    # Typer reads an epilog as rich markup: a `[` would start a tag.
    return "\n".join(lines).replace("[", "\\[")
