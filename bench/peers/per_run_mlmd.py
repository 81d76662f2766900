"""ML Metadata's side of ``bench/per_run.py``, in its own process under the ml-metadata venv.

Reads the runs as JSON on stdin, registers the source datasets, then each run with one
``put_execution`` call (the run as an execution; its inputs, its code commit and its output as
artifacts with INPUT/OUTPUT events; one transaction), as TFX and the MLMD guides record a step.
Prints one JSON object with the timings. Needs nothing of this project.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> None:
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2 as pb

    spec = json.load(sys.stdin)
    folder = Path(tempfile.mkdtemp(prefix="per-run-mlmd-"))
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(folder / "mlmd.sqlite")
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(config)
    dataset = store.put_artifact_type(pb.ArtifactType(name="Dataset"))
    commit = store.put_artifact_type(pb.ArtifactType(name="CodeCommit"))
    run_type = store.put_execution_type(pb.ExecutionType(name="Run"))

    def artifact(type_id: int, name: str, props: dict[str, Any]) -> Any:
        a = pb.Artifact(type_id=type_id, name=name, uri=name, state=pb.Artifact.LIVE)
        for k, v in props.items():
            if isinstance(v, int):
                a.custom_properties[k].int_value = v
            else:
                a.custom_properties[k].string_value = str(v)
        return a

    known: dict[str, Any] = {}
    seeds = [artifact(dataset, name, {}) for name in spec["seeds"]]
    for a, num in zip(seeds, store.put_artifacts(seeds), strict=True):
        a.id = num
        known[a.name] = a
    lat = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    for r in spec["runs"]:
        execution = pb.Execution(type_id=run_type, name=r["run"], last_known_state=pb.Execution.COMPLETE)
        for k, v in r["run_properties"].items():
            if isinstance(v, int):
                execution.custom_properties[k].int_value = v
            else:
                execution.custom_properties[k].string_value = str(v)
        out = artifact(dataset, r["output"], r["output_properties"])
        pairs = [(known[i], pb.Event(type=pb.Event.INPUT)) for i in r["inputs"]]
        pairs.append((artifact(commit, r["commit"], {}), pb.Event(type=pb.Event.INPUT)))
        pairs.append((out, pb.Event(type=pb.Event.OUTPUT)))
        s = time.perf_counter()
        _, ids, _ = store.put_execution(execution, pairs, [])
        lat.append(time.perf_counter() - s)
        out.id = ids[-1]
        known[out.name] = out
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    header = (folder / "mlmd.sqlite").read_bytes()[:20]
    journal = {1: "rollback journal", 2: "WAL"}.get(header[18], f"file format {header[18]}")
    print(json.dumps({
        "seconds": wall, "cpu_s": cpu, "latencies": lat, "journal": journal,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
