"""Loads the KServe manifests in DIR with the kserve SDK's typed models and checks that each
reads back as written (an unknown or misspelt key is dropped by the models, so it would not).

Usage: check_manifests.py DIR
"""

import json
import pathlib
import sys

import re

import kserve.models
import kubernetes.client.models
import yaml
from kserve import ApiClient

# The kserve models refer to Kubernetes' own (V1ObjectMeta, V1Container, ...), which kserve's
# deserialiser looks up among its models, and whose type names are spelt `List[str]` and
# `Dict[str, str]` where it reads `list[str]` and `dict(str, str)`: make both readable.
for _name in dir(kubernetes.client.models):
    if _name.startswith("V1") and not hasattr(kserve.models, _name):
        setattr(kserve.models, _name, getattr(kubernetes.client.models, _name))
_deserialize = ApiClient._ApiClient__deserialize


def _spelt_for_kserve(self, data, klass):
    if isinstance(klass, str):
        klass = re.sub(r"^List\[(.*)\]$", r"list[\1]", klass)
        klass = re.sub(r"^Dict\[(.*), (.*)\]$", r"dict(\1, \2)", klass)
    return _deserialize(self, data, klass)


ApiClient._ApiClient__deserialize = _spelt_for_kserve

TYPES = {
    "ServingRuntime": "V1alpha1ServingRuntime",
    "InferenceService": "V1beta1InferenceService",
}


def holds(read, written):
    """Whether everything written reads back (the models may add empty defaults)."""
    if isinstance(written, dict):
        return isinstance(read, dict) and all(k in read and holds(read[k], v) for k, v in written.items())
    if isinstance(written, list):
        return isinstance(read, list) and len(read) == len(written) and all(map(holds, read, written))
    return read == written


class Response:
    """What the deserialiser reads: an HTTP response's body."""

    def __init__(self, document):
        self.data = json.dumps(document)


def main():
    client = ApiClient()
    for path in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        kind = document["kind"]
        model = client.deserialize(Response(document), TYPES[kind])
        back = client.sanitize_for_serialization(model)
        if not holds(back, document):
            sys.exit(f"{path.name}: the {kind} does not read back as written:\n{back}\n{document}")
        print(f"{kind} {document['metadata']['name']}: {path.name} loads as {TYPES[kind]}")


if __name__ == "__main__":
    main()
