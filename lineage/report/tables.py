"""Tables for people and for pipes.

On a terminal a table is drawn by rich, folded to the window. Anywhere else (a file, ``| grep``,
``| cut -f2``, a CI log) it is plain tab-separated text, a header line then one line per row, so
ids are never wrapped mid-token and every value can be copied or cut as it is.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def _plain(cell: object) -> str:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return " ".join(text.split())  # one line per row, one field per column


def print_table(console: Console, table: Table) -> None:
    """Draw ``table`` on a terminal; write it as tab-separated lines anywhere else."""
    if console.is_terminal:
        console.print(table)
        return
    columns = [list(c.cells) for c in table.columns]
    lines = ["\t".join(_plain(c.header) for c in table.columns)]
    lines += ["\t".join(_plain(col[i]) for col in columns) for i in range(table.row_count)]
    if isinstance(table.title, str | Text) and table.title:
        lines.insert(0, f"# {_plain(table.title)}")
    console.file.write("\n".join(lines) + "\n")
