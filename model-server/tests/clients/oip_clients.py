"""Independent Open Inference Protocol clients against a running model-server.

Usage: oip_clients.py URL CASES.json

CASES.json is a list of {"model", "inputs", "expected"}: the model's own JSON inputs (what its
command line takes) and the lines the wasmtime CLI printed for them. Each case is sent with
tritonclient's HTTP client (its defaults, binary tensors both ways, and binary_data=False) and
with the kserve SDK's REST client, and every answer must equal the CLI's. Prints one line per
check and a closing "N passed, M failed"; exits non-zero on any failure.
"""

import asyncio
import json
import math
import sys

import numpy as np
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig


def tensors(model, inputs):
    """(name, numpy array, datatype) per input tensor, from the model's JSON inputs."""
    if model == "mnist":
        images = np.array(inputs, dtype=np.float32).reshape(len(inputs), 28, 28)
        return [("image", images, "FP32")]
    out = []
    for key in inputs[0]:
        values = [item[key] for item in inputs]
        if isinstance(values[0], str):
            out.append((key, np.array([v.encode() for v in values], dtype=np.object_), "BYTES"))
        else:
            out.append((key, np.array(values, dtype=np.float32), "FP32"))
    return out


def lines(model, outputs):
    """What the CLI prints for each row, from the output tensors (name -> numpy array)."""
    if model == "wine-quality":
        # The CLI rounds half away from zero to one decimal.
        return [f"{math.floor(float(q) * 10 + 0.5) / 10:.1f}" for q in outputs["quality"]]
    return [c.decode() if isinstance(c, bytes) else str(c) for c in outputs["class"]]


def output_names(model):
    return ["quality", "grade"] if model == "wine-quality" else ["class", "probabilities"]


def with_triton(url, model, inputs, binary):
    client = triton.InferenceServerClient(url=url.removeprefix("http://"), network_timeout=300.0)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(model)
    metadata = client.get_model_metadata(model)
    assert metadata["name"] == model, metadata
    infer_inputs = []
    for name, array, datatype in tensors(model, inputs):
        tensor = triton.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        infer_inputs.append(tensor)
    outputs = None
    if not binary:
        outputs = [triton.InferRequestedOutput(n, binary_data=False) for n in output_names(model)]
    result = client.infer(model, infer_inputs, outputs=outputs, request_id="client-check")
    assert result.get_response()["id"] == "client-check"
    arrays = {name: result.as_numpy(name) for name in output_names(model)}
    probabilities = arrays.get("probabilities")
    if probabilities is not None:
        assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    return lines(model, arrays)


def with_kserve(url, model, inputs):
    async def call():
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=300))
        try:
            assert await client.is_server_ready(url)
            assert await client.is_model_ready(url, model)
            infer_inputs = []
            for name, array, datatype in tensors(model, inputs):
                tensor = InferInput(name=name, shape=list(array.shape), datatype=datatype)
                tensor.set_data_from_numpy(array, binary_data=False)
                infer_inputs.append(tensor)
            request = InferRequest(model_name=model, infer_inputs=infer_inputs, request_id="k1")
            response = await client.infer(url, request, model_name=model)
            arrays = {output.name: output.as_numpy() for output in response.outputs}
            return lines(model, arrays)
        finally:
            await client.close()

    return asyncio.run(call())


def main():
    url, cases_file = sys.argv[1], sys.argv[2]
    with open(cases_file, encoding="utf-8") as f:
        cases = json.load(f)
    passed = failed = 0
    for case in cases:
        model, inputs, expected = case["model"], case["inputs"], case["expected"]
        checks = [
            ("tritonclient, binary tensors (its default)", lambda: with_triton(url, model, inputs, True)),
            ("tritonclient, binary_data=False", lambda: with_triton(url, model, inputs, False)),
            ("kserve InferenceRESTClient", lambda: with_kserve(url, model, inputs)),
        ]
        for label, check in checks:
            try:
                answers = check()
                if answers != expected:
                    wrong = sum(a != e for a, e in zip(answers, expected))
                    raise AssertionError(f"{wrong} of {len(expected)} answers differ from the CLI's")
                print(f"ok: {model}, {len(inputs)} inputs, {label}")
                passed += 1
            except Exception as error:  # every failure is reported, then counted
                print(f"FAILED: {model}, {label}: {type(error).__name__}: {error}")
                failed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
