"""The CLI as a CI hook runs it: whole processes of ``lineage --help`` and ``lineage register --file``.

    python bench/cli_startup.py [--runs 11] [--other-tree /path/to/another/checkout]

Each command runs ``--runs`` times as a fresh process. ``register`` takes a small YAML batch (3
nodes, 2 edges) three ways: into a fresh SQLite store (a new file each time: the schema is
created); into an existing store as a CI job does, a new run each time (3 new nodes and 2 edges, one
audit entry); and the same batch again into an existing store (nothing changes, no audit entry).
With ``--other-tree``, the same commands run from that source tree too, turn about, so both see the
same load; each round's two figures form a pair, and the median of the pairwise differences and
ratios is printed, which drifting load disturbs much less than either p50. Bytecode is written and a
warm-up round runs first (``PYTHONDONTWRITEBYTECODE`` is dropped for the children), as after ``pip
install``, which compiles what it installs. Prints wall and CPU (user + system of the child) p50 and
minimum, the bare interpreter's start-up beside them, and the load average. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH = """\
nodes:
  - {{kind: Dataset, namespace: raw, name: orders, version: v1}}
  - {{kind: Run, namespace: ci, name: train, version: "{run}"}}
  - {{kind: Model, namespace: ml, name: churn, version: "{run}"}}
edges:
  - {{from: "dataset:raw/orders@v1", type: INPUT_TO, to: "run:ci/train@{run}"}}
  - {{from: "run:ci/train@{run}", type: PRODUCED, to: "model:ml/churn@{run}"}}
"""


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--runs", type=int, default=11)
    p.add_argument("--other-tree", help="another checkout of this project, run side by side")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cli-startup-"))
    small = work / "small.yaml"
    small.write_text(BATCH.format(run="42"))
    trees: dict[str, str | None] = {"this tree": None}
    if args.other_tree:
        trees["other tree"] = args.other_tree
    cli = "from lineage.cli import main; import sys; sys.exit(main())"
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    print(f"command : python {' '.join(sys.argv)}")
    if args.other_tree:
        print(f"other   : {args.other_tree}")
    print(f"load    : {os.getloadavg()[0]:.1f} at start; {args.runs} runs of each, turn about")
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for i in range(-1, args.runs):
        new_run = work / f"run-{i + 1}.yaml"
        new_run.write_text(BATCH.format(run=f"ci-{i + 1}"))
        order = list(trees.items()) if i % 2 == 0 else list(trees.items())[::-1]
        for label, tree in order:
            tag = "this" if tree is None else "other"
            env = dict(base)
            if tree:
                env["PYTHONPATH"] = tree
            existing = f"sqlite:///{work / f'existing-{tag}.db'}"
            commands: dict[str, tuple[list[str], str | None, bool]] = {
                "python -c pass": (["-c", "pass"], None, False),
                "lineage --help": (["-c", cli, "--help"], None, True),
                "register, fresh store": (
                    ["-c", cli, "register", "--file", str(small)], f"sqlite:///{work / f'fresh-{tag}-{i}.db'}", True
                ),
                "register, existing store, new run": (
                    ["-c", cli, "register", "--file", str(new_run)], existing, True
                ),
                "register, existing store, repeat": (["-c", cli, "register", "--file", str(small)], existing, True),
            }
            for name, (argv, store, per_tree) in commands.items():
                if not per_tree and tree:
                    continue
                run_env = dict(env, LINEAGE_STORE=store) if store else env
                # From the scratch folder: ``python -c`` puts the working directory first on the
                # path, which would shadow --other-tree when run from a checkout.
                sample = timed([sys.executable, *argv], run_env, work)
                if i >= 0:
                    samples.setdefault((name, label if per_tree else "-"), []).append(sample)
    head = f"{'command':<36} {'tree':<12} {'wall p50':>9} {'wall min':>9} {'CPU p50':>8} {'CPU min':>8}"
    print(head)
    print("-" * len(head))
    for (name, label), runs in samples.items():
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        print(f"{name:<36} {label:<12} {statistics.median(walls):>9.3f} {min(walls):>9.3f} "
              f"{statistics.median(cpus):>8.3f} {min(cpus):>8.3f}")
    if args.other_tree:
        print()
        head = (f"{'this tree vs other, paired by round':<36} {'wall diff':>10} {'wall ratio':>11} "
                f"{'CPU diff':>9} {'CPU ratio':>10}")
        print(head)
        print("-" * len(head))
        for (name, label), runs in samples.items():
            if label != "this tree":
                continue
            pairs = list(zip(runs, samples[(name, "other tree")], strict=True))
            print(
                f"{name:<36} {statistics.median(a[0] - b[0] for a, b in pairs):>+10.3f} "
                f"{statistics.median(a[0] / b[0] for a, b in pairs):>11.2f} "
                f"{statistics.median(a[1] - b[1] for a, b in pairs):>+9.3f} "
                f"{statistics.median(a[1] / b[1] for a, b in pairs):>10.2f}"
            )
    print(f"load    : {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
