# syntax=docker/dockerfile:1
# The lineage API server (`lineage serve`), configured by LINEAGE_* environment variables.
# Build: docker build -t lineage-engine .   Run with Neo4j: docker compose up (see README).

ARG PYTHON_VERSION=3.11

# -- build: wheels for the project and its dependencies ---------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY lineage ./lineage
# neo4j-rust-ext: the same driver API with packing and unpacking in Rust, several times faster.
RUN pip wheel --wheel-dir /wheels . neo4j-rust-ext

# -- runtime: no compilers, no sources, not root -----------------------------------------------------
FROM python:${PYTHON_VERSION}-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels lineage-engine neo4j-rust-ext \
 && groupadd --system --gid 10001 lineage \
 && useradd --system --uid 10001 --gid lineage --home-dir /home/lineage --create-home lineage \
 && mkdir -p /data && chown lineage:lineage /data

USER lineage
WORKDIR /home/lineage
# Defaults; override with -e or in docker-compose.yml. Without LINEAGE_STORE pointing at Neo4j the
# server keeps an embedded SQLite store in the /data volume.
ENV LINEAGE_STORE=sqlite:////data/lineage.db \
    LINEAGE_HOST=0.0.0.0 \
    LINEAGE_PORT=8000 \
    LINEAGE_WORKERS=1 \
    LINEAGE_MODE=production
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('LINEAGE_PORT', '8000')}/readyz\", timeout=4)"]
CMD ["lineage", "serve", "--host", "0.0.0.0"]
