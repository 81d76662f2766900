"""The `lineage` command: thin commands over the library, split by group.

Exit codes are part of the contract: 0 ok, 1 a check found a problem, 2 bad input or usage,
3 store unavailable.
"""

from __future__ import annotations

import typer

from lineage.cli import audit, check, db, governance, ingest, migrate, query, schema, serve, token, write
from lineage.cli.demo import demo_cmd


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="lineage",
        help="Lineage and governance for ML platforms: impact, provenance, audit.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    app.command("demo")(demo_cmd)
    app.command("register")(write.register_cmd)
    app.command("retract")(write.retract_cmd)
    app.command("impact")(query.impact_cmd)
    app.command("provenance")(query.provenance_cmd)
    app.command("show")(query.show_cmd)
    app.command("search")(query.search_cmd)
    app.add_typer(audit.app, name="audit")
    app.add_typer(schema.app, name="schema")
    app.add_typer(db.app, name="db")
    app.command("migrate")(migrate.migrate_cmd)
    app.command("serve")(serve.serve_cmd)
    app.add_typer(token.app, name="token")
    app.command("check")(check.check_cmd)
    app.add_typer(governance.classify_app, name="classify")
    app.add_typer(governance.owners_app, name="owners")
    app.command("approve")(governance.approve_cmd)
    app.add_typer(ingest.app, name="import")
    app.command("replay")(ingest.replay_cmd)
    app.command("columns")(ingest.columns_cmd)
    return app


def main() -> None:
    build_app()()
