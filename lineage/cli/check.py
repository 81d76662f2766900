"""`lineage check`: run a policy file against the graph, as a CI gate.

Exit codes: 0 no violations (warnings allowed), 1 violations, 2 an invalid policy file or bad
usage, 3 store unavailable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from lineage.cli.common import (
    AsOfOpt,
    Format,
    FormatOpt,
    StoreOpt,
    handle_errors,
    opened,
    out,
    parse_time,
    print_json,
    settings_for,
)
from lineage.governance.policy import BASELINE_POLICY, DEFAULT_POLICY_FILE, PolicyReport, load_policy
from lineage.governance.policy_rules import check_policy


def render_policy_report(report: PolicyReport, console: Console) -> None:
    """Each violation with its explanation, then a one-line verdict."""
    target = f" for {report.target} and everything downstream of it" if report.target else ""
    console.print(
        f"Policy [bold]{report.policy}[/]{target}, as of {report.as_of} "
        f"(audit head #{report.audit_head['seq']})",
        highlight=False,
    )
    for outcome in report.outcomes:
        broken = len(outcome.violations)
        mark = "[green]ok[/]"
        if broken:
            mark = "[yellow]warn[/]" if outcome.severity == "warning" else "[red]FAIL[/]"
        console.print(
            f"\n{mark} [bold]{outcome.rule}[/] ({outcome.type}): {outcome.checked} checked, {broken} violation(s)"
            + (f", {len(outcome.waived)} waived by approval" if outcome.waived else ""),
            highlight=False,
        )
        for v in outcome.violations:
            colour = "yellow" if v.severity == "warning" else "red"
            console.print(f"  [{colour}]✗[/] {v.message}", highlight=False)
            for line in v.explanation:
                console.print(f"      {line}", style="dim", highlight=False)
            if v.hint:
                console.print(f"      fix: {v.hint}", style="cyan", highlight=False)
        for w in outcome.waived:
            console.print(
                f"  [green]✓[/] {w.node}: {w.approval} approved by {w.approved_by} at {w.approved_at}"
                + (f" (audit #{w.audit_seq})" if w.audit_seq else "")
                + (f": {w.reason}" if w.reason else ""),
                highlight=False,
            )
    errors, warnings = len(report.violations), len(report.warnings)
    verdict = "[bold red]FAILED[/]" if errors else "[bold green]PASSED[/]"
    console.print(
        f"\n{verdict}: {errors} violation(s), {warnings} warning(s), {len(report.outcomes)} rule(s) "
        f"in {report.elapsed_ms:.0f} ms",
        highlight=False,
    )


@handle_errors
def check_cmd(
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            "-p",
            envvar="LINEAGE_POLICY",
            help=f"Policy file (YAML). Default: ./{DEFAULT_POLICY_FILE} if present, else the built-in baseline.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", "-t", help="Only check this node and everything downstream of it.",
                     show_default=False),
    ] = None,
    as_of: AsOfOpt = None,
    fmt: FormatOpt = Format.text,
    store: StoreOpt = None,
) -> None:
    """Check lineage against a policy. Exit 0 when it holds, 1 on violations, 2 for an invalid policy."""
    if policy is None and Path(DEFAULT_POLICY_FILE).is_file():
        policy = Path(DEFAULT_POLICY_FILE)
    if policy is None:
        rules, name = load_policy(text=BASELINE_POLICY, name="built-in baseline"), "built-in baseline"
    else:
        rules, name = load_policy(policy), str(policy)
    with opened(settings_for(store)) as st:
        report = check_policy(st, rules, policy_name=name, target=target, as_of=parse_time(as_of))
    if fmt is Format.json:
        print_json(report.to_dict())
    else:
        render_policy_report(report, out())
    raise typer.Exit(0 if report.ok else 1)
