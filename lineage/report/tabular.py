"""JSON for machines and CSV for spreadsheets.

JSON is the lineage report's fields (``lineage impact --format json`` before reports had a digest
keeps working) plus ``audit_head``, ``digest``, ``notify``, ``edges`` and ``root_classifications``,
with sorted keys so equal reports are equal bytes.

CSV has one row per node, the start node first (distance 0), and repeats the as-of time and the
digest on each row so a filtered or sorted sheet still says where its rows came from.
"""

from __future__ import annotations

import csv
import io
import json

from lineage.analysis import is_production
from lineage.report.data import Report

CSV_COLUMNS = (
    "id",
    "kind",
    "namespace",
    "name",
    "version",
    "distance",
    "production",
    "owners",
    "path",
    "path_edges",
    "direction",
    "start",
    "as_of",
    "graph_digest",
)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    lin = report.lineage
    common = (lin.direction.value, report.root.id, report.as_of, report.digest)
    root = report.root
    writer.writerow(
        (root.id, root.kind.value, root.namespace, root.name, root.version or "", 0,
         str(is_production(root)).lower(),
         ";".join(root.owners), root.id, "", *common)
    )
    for _kind, members in report.groups():
        for n in members:
            rec = n.node
            writer.writerow(
                (rec.id, rec.kind.value, rec.namespace, rec.name, rec.version or "", n.distance,
                 str(n.production).lower(), ";".join(rec.owners), " > ".join(n.path), " > ".join(n.via), *common)
            )
    return buf.getvalue()
