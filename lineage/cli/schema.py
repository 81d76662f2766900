"""`lineage schema`: the lineage schema and the batch file format."""

from __future__ import annotations

import typer

from lineage.cli.common import Format, FormatOpt, handle_errors, out, print_json
from lineage.cli.schema_export import export_cmd
from lineage.model import ALLOWED_EDGES, Batch

app = typer.Typer(
    help="The lineage schema (allowed edges) and the batch file's JSON Schema.", no_args_is_help=True
)


@app.command("batch")
@handle_errors
def batch_cmd() -> None:
    """Print the JSON Schema of a registration batch (the --file format of `lineage register`)."""
    print_json(Batch.model_json_schema(by_alias=True))


@app.command("edges")
@handle_errors
def edges_cmd(fmt: FormatOpt = Format.text) -> None:
    """List every allowed (kind, edge, kind) triple."""
    triples = sorted(ALLOWED_EDGES, key=lambda t: (t[1].value, t[0].value, t[2].value))
    if fmt is Format.json:
        print_json([{"from": s.value, "type": e.value, "to": d.value} for s, e, d in triples])
        return
    for src, edge, dst in triples:
        out().print(f"{src.value:<11} -{edge.value}-> {dst.value}", highlight=False)


app.command("export")(export_cmd)
