#!/usr/bin/env python3
"""PyTorch CPU reference for the MNIST CNN: the same layers, batch size, optimiser and thread
count as `mnist/examples/throughput.rs`, timed the same way (forward with cross-entropy,
backward, Adam step; then inference-mode forward passes over 5,000 test images in batches of
500). Prints one JSON object. Run by `cargo xtask bench` when torch is importable.

    python3 bench/mnist_pytorch.py --threads 2 --batch-size 64 --steps 200

Reads the official IDX files from $DATASETS_DIR/mnist (or datasets/mnist in the workspace);
needs nothing but torch.
"""

import argparse
import gzip
import json
import os
import pathlib
import sys
import time

import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parent.parent


def read_idx(path: pathlib.Path, header: int) -> torch.Tensor:
    data = gzip.decompress(path.read_bytes())
    return torch.frombuffer(bytearray(data[header:]), dtype=torch.uint8)


class Net(nn.Module):
    """mnist::model::MnistModel: 5x5/2 conv (32), BN, ReLU; 3x3/2 conv (64), BN, ReLU;
    3136 -> 128, ReLU, dropout 0.25, -> 10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, stride=2, padding=2, bias=False)
        self.norm1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(64)
        self.hidden = nn.Linear(64 * 7 * 7, 128)
        self.dropout = nn.Dropout(0.25)
        self.output = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm1(self.conv1(x)))
        x = torch.relu(self.norm2(self.conv2(x)))
        x = torch.relu(self.hidden(x.flatten(1)))
        return self.output(self.dropout(x))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()

    data_dir = pathlib.Path(os.environ.get("DATASETS_DIR") or ROOT / "datasets") / "mnist"
    if not (data_dir / "train-images-idx3-ubyte.gz").is_file():
        print(f"error: the MNIST IDX files are missing from {data_dir}", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    mean, std = 0.1307, 0.3081
    images = read_idx(data_dir / "train-images-idx3-ubyte.gz", 16).view(-1, 1, 28, 28)
    labels = read_idx(data_dir / "train-labels-idx1-ubyte.gz", 8).long()
    test = read_idx(data_dir / "t10k-images-idx3-ubyte.gz", 16).view(-1, 1, 28, 28)[:5000]
    normalise = lambda x: (x.float() / 255.0 - mean) / std  # noqa: E731

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-5)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    timings = {"forward": 0.0, "backward": 0.0, "adam": 0.0}
    measured = 0
    batches = len(images) // args.batch_size
    for step in range(args.warmup + args.steps):
        start = (step % batches) * args.batch_size
        x = normalise(images[start : start + args.batch_size])
        y = labels[start : start + args.batch_size]
        t0 = time.perf_counter()
        loss = loss_fn(model(x), y)
        t1 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        t3 = time.perf_counter()
        if step >= args.warmup:
            timings["forward"] += t1 - t0
            timings["backward"] += t2 - t1
            timings["adam"] += t3 - t2
            measured += len(x)
    train_rate = measured / sum(timings.values())

    model.eval()
    started = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(test), 500):
            model(normalise(test[start : start + 500]))
    evaluation_rate = len(test) / (time.perf_counter() - started)

    print(
        json.dumps(
            {
                "backend": f"pytorch {torch.__version__} cpu",
                "batch_size": args.batch_size,
                "threads": torch.get_num_threads(),
                "steps": args.steps,
                "parameters": sum(p.numel() for p in model.parameters()),
                "train_images_per_second": round(train_rate),
                "step_ms": {k: v * 1000 / args.steps for k, v in timings.items()},
                "evaluation_images_per_second": round(evaluation_rate),
                "epoch_seconds_estimate": round(60000 / train_rate + 10000 / evaluation_rate),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
