#!/usr/bin/env python3
"""TF-IDF + logistic-regression baseline for AG News, on the committed model's split.

Trains scikit-learn's TfidfVectorizer (word unigrams, defaults) and LogisticRegression
(defaults, max_iter raised) on the rows of test.csv that the committed model trained on, scores
the rows it was evaluated on (artifacts/ag-news/evaluation_rows.json), and writes
artifacts/ag-news/baseline.json. Run through `cargo xtask baseline`.
"""

import csv
import hashlib
import json
import os
import pathlib
import sys
import time

import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    data_dir = pathlib.Path(os.environ.get("DATASETS_DIR") or ROOT / "datasets")
    test_csv = data_dir / "ag-news" / "test.csv"
    artifacts = ROOT / "artifacts" / "ag-news"
    rows_file = artifacts / "evaluation_rows.json"
    if not test_csv.is_file():
        print(f"error: {test_csv} is missing (set DATASETS_DIR)", file=sys.stderr)
        return 1
    if not rows_file.is_file():
        print(f"error: {rows_file} is missing: train with --single-file-split test.csv first", file=sys.stderr)
        return 1

    with test_csv.open(newline="", encoding="utf-8") as f:
        articles = [(int(label) - 1, f"{title} {description}") for label, title, description in csv.reader(f)]
    rows_bytes = rows_file.read_bytes()
    evaluation_rows = set(json.loads(rows_bytes))
    train = [a for i, a in enumerate(articles) if i not in evaluation_rows]
    evaluation = [a for i, a in enumerate(articles) if i in evaluation_rows]

    started = time.perf_counter()
    vectorizer = TfidfVectorizer()
    features = vectorizer.fit_transform([text for _, text in train])
    classifier = LogisticRegression(max_iter=1000)
    classifier.fit(features, [label for label, _ in train])
    seconds = time.perf_counter() - started
    predictions = classifier.predict(vectorizer.transform([text for _, text in evaluation]))
    correct = sum(int(p == label) for p, (label, _) in zip(predictions, evaluation))
    accuracy = correct / len(evaluation)

    result = {
        "baseline": "TF-IDF (word unigrams) + logistic regression, scikit-learn defaults",
        "scikit_learn": sklearn.__version__,
        "training_articles": len(train),
        "evaluation_articles": len(evaluation),
        "accuracy": accuracy,
        "training_seconds": round(seconds, 2),
        "evaluation_rows_sha256": hashlib.sha256(rows_bytes).hexdigest(),
    }
    # Written whole or not at all.
    temporary = artifacts / ".baseline.json.tmp"
    temporary.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(temporary, artifacts / "baseline.json")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
