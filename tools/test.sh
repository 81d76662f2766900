#!/usr/bin/env bash
# The whole test suite: install, lint, type-check, then every test on both backends.
# A real Neo4j is started from tools/neo4j-local unless NEO4J_URI already points at one.
set -euo pipefail
cd "$(dirname "$0")/.."

# A virtual environment: the active one, else .venv (created on first use). Debian's and Ubuntu's
# own Python refuse system-wide installs (PEP 668), and a venv keeps the machine clean anyway.
if [ -z "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x .venv/bin/python3 ]; then
        echo "== creating .venv"
        python3 -m venv .venv
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi

python3 -m pip install --quiet --disable-pip-version-check -e ".[dev,mlflow,feast]"

echo "== ruff"
python3 -m ruff check lineage tests bench
echo "== mypy --strict"
python3 -m mypy --strict lineage

started_neo4j=0
stop_neo4j() {
    if [ "$started_neo4j" = 1 ]; then tools/neo4j-local/neo4j-local.sh stop || true; fi
}
trap stop_neo4j EXIT

if [ -z "${NEO4J_URI:-}" ]; then
    if command -v java >/dev/null && command -v mvn >/dev/null; then
        echo "== starting a local Neo4j (tools/neo4j-local)"
        tools/neo4j-local/neo4j-local.sh start
        started_neo4j=1
        export NEO4J_URI="bolt://127.0.0.1:${NEO4J_LOCAL_PORT:-7687}"
    elif [ "${CI:-}" = "true" ]; then
        echo "CI needs Java and Maven to run Neo4j (or NEO4J_URI set)" >&2
        exit 1
    else
        echo "== no NEO4J_URI and no Java+Maven: Neo4j tests will skip"
    fi
fi

mkdir -p test-output
echo "== tests on the embedded store (parallel)"
python3 -m pytest -q -m "not neo4j" -n 2 -p no:cacheprovider "$@"
echo "== tests on Neo4j"
python3 -m pytest -q -m "neo4j" -p no:cacheprovider "$@"
