"""Lineage from MLflow: tracking runs, their inputs and models, the model registry and its aliases.

Needs the MLflow client (``pip install 'lineage-engine[mlflow]'``, on ``mlflow-skinny``); it is
imported only when an import runs.
"""

from lineage.ingest.mlflow.importer import ImportSummary, import_mlflow
from lineage.ingest.mlflow.reader import MlflowReader

__all__ = ["ImportSummary", "MlflowReader", "import_mlflow"]
