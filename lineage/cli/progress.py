"""Progress on long work: a bar on stderr when it is a terminal, nothing otherwise.

Nothing extra is printed when stderr is not a terminal (CI logs, pipes) or with ``--format json``,
so output stays parseable; the final summary line is the same either way.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from lineage.cli.common import Format

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Steps(Protocol):
    """What long work reports: a new phase (with its size) and how far it got."""

    def phase(self, description: str, total: int | None = None) -> None: ...

    def advance(self, amount: int) -> None: ...

    def reach(self, completed: int) -> None:
        """Set how far the current phase got (for work that reports totals, not increments)."""


class _Silent:
    def phase(self, description: str, total: int | None = None) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None

    def reach(self, completed: int) -> None:
        return None


class _Bar:
    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None
        self.total: int | None = None

    def phase(self, description: str, total: int | None = None) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=self.total or 0)
            self.bar.stop_task(self.task)
        self.task, self.total = self.bar.add_task(description, total=total), total

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, amount)

    def reach(self, completed: int) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=completed)


def shown(fmt: Format = Format.text) -> bool:
    """Whether a progress bar is drawn: text output and stderr on a terminal."""
    return fmt is not Format.json and sys.stderr.isatty()


@contextmanager
def progress(fmt: Format = Format.text) -> Iterator[Steps]:
    """A progress reporter: a rich bar on a terminal, silent otherwise."""
    if not shown(fmt):
        yield _Silent()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from lineage.cli.common import err

    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
    )
    with bar:
        yield _Bar(bar)
