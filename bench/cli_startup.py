"""The CLI as a CI hook runs it: whole processes of ``lineage --help`` and ``lineage register --file``.

    python bench/cli_startup.py [--runs 11] [--other-tree /path/to/another/checkout]

Each command runs ``--runs`` times as a fresh process (a small YAML batch of 3 nodes and 2 edges,
registered into a fresh SQLite store, then repeated: the repeats change nothing). With
``--other-tree``, the same commands run from that source tree too, turn about, so both see the same
load. Bytecode is written and a warm-up round runs first (``PYTHONDONTWRITEBYTECODE`` is dropped
for the children), as after ``pip install``, which compiles what it installs. Prints wall and CPU
(user + system of the child) p50 and minimum, the bare interpreter's start-up beside them, and the
load average. Figures are printed, never asserted.
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

SMALL = """\
nodes:
  - {kind: Dataset, namespace: raw, name: orders, version: v1}
  - {kind: Run, namespace: ci, name: train, version: "42"}
  - {kind: Model, namespace: ml, name: churn, version: "3"}
edges:
  - {from: "dataset:raw/orders@v1", type: INPUT_TO, to: "run:ci/train@42"}
  - {from: "run:ci/train@42", type: PRODUCED, to: "model:ml/churn@3"}
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
    batch = work / "small.yaml"
    batch.write_text(SMALL)
    trees = {"this tree": None}
    if args.other_tree:
        trees[f"other ({args.other_tree})"] = args.other_tree
    cli = "from lineage.cli import main; import sys; sys.exit(main())"
    commands = {
        "python -c pass": (["-c", "pass"], False),
        "lineage --help": (["-c", cli, "--help"], True),
        "lineage register --file small.yaml": (["-c", cli, "register", "--file", str(batch)], True),
    }
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    print(f"command : python {' '.join(sys.argv)}")
    print(f"load    : {os.getloadavg()[0]:.1f} at start; {args.runs} runs of each, turn about")
    base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for i in range(-1, args.runs):
        for label, tree in trees.items():
            env = dict(base, LINEAGE_STORE=f"sqlite:///{work / f'{i % 2}-{len(label)}.db'}")
            if tree:
                env["PYTHONPATH"] = tree
            for name, (argv, per_tree) in commands.items():
                if not per_tree and tree:
                    continue
                # From the scratch folder: ``python -c`` puts the working directory first on the
                # path, which would shadow --other-tree when run from a checkout.
                sample = timed([sys.executable, *argv], env, work)
                if i >= 0:
                    samples.setdefault((name, label if per_tree else "-"), []).append(sample)
    head = f"{'command':<36} {'tree':<28} {'wall p50':>9} {'wall min':>9} {'CPU p50':>8} {'CPU min':>8}"
    print(head)
    print("-" * len(head))
    for (name, label), runs in samples.items():
        walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
        print(f"{name:<36} {label:<28} {statistics.median(walls):>9.3f} {min(walls):>9.3f} "
              f"{statistics.median(cpus):>8.3f} {min(cpus):>8.3f}")
    print(f"load    : {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
