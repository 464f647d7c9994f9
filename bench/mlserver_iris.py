"""The MLServer side of the serving benchmark: a scikit-learn logistic regression trained on
the project's Iris file, written as an MLServer model directory.

Usage: mlserver_iris.py IRIS_CSV MODEL_DIR HTTP_PORT GRPC_PORT METRICS_PORT
Then `mlserver start MODEL_DIR` serves it as `iris-sklearn` over the same protocol.
"""

import csv
import json
import pathlib
import sys

import joblib
from sklearn.linear_model import LogisticRegression


def main():
    iris_csv, model_dir, http_port, grpc_port, metrics_port = sys.argv[1:6]
    rows = [row for row in csv.reader(open(iris_csv, encoding="utf-8")) if len(row) == 5]
    features = [[float(v) for v in row[:4]] for row in rows]
    labels = [row[4] for row in rows]
    model = LogisticRegression(max_iter=1000, random_state=42).fit(features, labels)
    out = pathlib.Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / "model.joblib")
    (out / "model-settings.json").write_text(json.dumps({
        "name": "iris-sklearn",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib"},
    }))
    # MLServer at its fastest, so the comparison is with its best: parallel_workers 0 (1.7.1's
    # worker mode crashes with the uvloop it installs); debug, its metrics endpoint and gzip
    # off (on by default: a log line per request, Prometheus middleware; together they cost it
    # two thirds of its throughput here).
    (out / "settings.json").write_text(json.dumps({
        "debug": False,
        "metrics_endpoint": None,
        "gzip_enabled": False,
        "parallel_workers": 0,
        "http_port": int(http_port),
        "grpc_port": int(grpc_port),
        "metrics_port": int(metrics_port),
        "host": "127.0.0.1",
    }))
    print(f"trained on {len(rows)} flowers")


if __name__ == "__main__":
    main()
