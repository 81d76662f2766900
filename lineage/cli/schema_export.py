"""`lineage schema export`: write the GraphQL schema (SDL) built from the code, or check it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lineage.cli.common import err, handle_errors, out

DEFAULT_PATH = Path("graphql/schema.graphql")


@handle_errors
def export_cmd(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where the SDL goes ('-' for stdout).")
    ] = DEFAULT_PATH,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when the file differs from the code.")
    ] = False,
) -> None:
    """Export the GraphQL schema (SDL) from the code: graphql/schema.graphql by default."""
    from lineage.api.schema import export_sdl

    sdl = export_sdl()
    if str(output) == "-":
        print(sdl, end="")
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else None
        if current != sdl:
            err().print(f"{output} is out of date: run `lineage schema export`", highlight=False)
            raise typer.Exit(1)
        out().print(f"{output} matches the code", highlight=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(sdl, encoding="utf-8")
    out().print(f"wrote {output}", highlight=False)
