#!/usr/bin/env python3
"""PyTorch CPU reference for the MNIST CNN, in two modes. Run by `cargo xtask bench` when torch
is importable.

Throughput (default): the same layers, batch size, optimiser and thread count as
`mnist/examples/throughput.rs`, timed the same way (forward with cross-entropy, backward, Adam
step; then inference-mode forward passes over 5,000 test images in batches of 500). Prints one
JSON object.

    python3 bench/mnist_pytorch.py --threads 2 --batch-size 64 --steps 200

Recipe (`--recipe`): trains the model with the committed model's whole recipe
(`mnist-ndarray` with its defaults: pixel statistics fitted on the training images, random
shifts of up to 2 pixels, shuffled batches of 64 with the last partial one kept, Adam with a
cosine-annealed learning rate, 8 epochs) and evaluates on the 10,000 test images after every
epoch. Prints one JSON line per epoch, `{"epoch", "seconds", "test_accuracy"}` (seconds from
the moment the IDX files are decoded to the end of that epoch's test pass, as the Rust
trainer's clock would run; accuracy a fraction), then a summary line.

    python3 bench/mnist_pytorch.py --recipe --threads 2 [--epochs 8] [--limit N]

Reads the official IDX files from $DATASETS_DIR/mnist (or datasets/mnist in the workspace);
needs nothing but torch.
"""

import argparse
import gzip
import json
import math
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


# The committed model's recipe: `mnist::training::ALGORITHM`'s defaults and `MnistOptions`.
RECIPE_EPOCHS = 8
PEAK_LEARNING_RATE = 0.002
# Cosine decay to 1% of the peak over the whole run (`Schedule::Cosine { final_divisor }`).
FINAL_DIVISOR = 100.0
# `module_kit::settings::Optimizer::ADAM`.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-5
# `--max-shift`: each training image moves by -2..=2 pixels in x and y, background filling in.
MAX_SHIFT = 2
SIDE = 28
EVALUATION_BATCH = 500


def cosine_learning_rate(step: int, total_steps: int) -> float:
    """burn's CosineAnnealingLrScheduler: the peak at step 0, min + (peak - min) / 2 *
    (1 + cos(pi * step / total)) after."""
    low = PEAK_LEARNING_RATE / FINAL_DIVISOR
    return low + 0.5 * (PEAK_LEARNING_RATE - low) * (1 + math.cos(math.pi * step / total_steps))


def pixel_statistics(images: torch.Tensor) -> tuple[float, float]:
    """Mean and (population) standard deviation of every grey level / 255, exactly, from the
    256-bin histogram, as `PixelNormalization::fit` computes them in f64."""
    counts = torch.bincount(images.flatten(), minlength=256).double()
    levels = torch.arange(256, dtype=torch.float64) / 255.0
    total = counts.sum()
    mean = (counts * levels).sum() / total
    variance = (counts * levels * levels).sum() / total - mean * mean
    return mean.item(), math.sqrt(max(variance.item(), 0.0)) or 1.0


def shifted(padded: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Each image moved `dx` right and `dy` down (`mnist::data::shift`): a 28x28 window of its
    copy padded by MAX_SHIFT zeros, gathered for the whole batch at once."""
    offsets = torch.arange(SIDE)
    rows = offsets + MAX_SHIFT - shifts[:, 1:2]  # (batch, 28): source row of each output row
    cols = offsets + MAX_SHIFT - shifts[:, 0:1]
    batch = torch.arange(len(padded))[:, None, None]
    return padded[batch, rows[:, :, None], cols[:, None, :]]


@torch.inference_mode()
def test_accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(inputs), EVALUATION_BATCH):
        logits = model(inputs[start : start + EVALUATION_BATCH])
        correct += (logits.argmax(1) == labels[start : start + EVALUATION_BATCH]).sum().item()
    return correct / len(inputs)


def recipe(args: argparse.Namespace, data_dir: pathlib.Path) -> int:
    """Trains with the committed recipe, printing a JSON line per epoch and a summary."""
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    limit = args.limit
    images = read_idx(data_dir / "train-images-idx3-ubyte.gz", 16).view(-1, SIDE, SIDE)[:limit]
    labels = read_idx(data_dir / "train-labels-idx1-ubyte.gz", 8).long()[:limit]
    test = read_idx(data_dir / "t10k-images-idx3-ubyte.gz", 16).view(-1, 1, SIDE, SIDE)[:limit]
    test_labels = read_idx(data_dir / "t10k-labels-idx1-ubyte.gz", 8).long()[:limit]

    # The Rust trainer's clock starts where it announces the decoded images: fitting the
    # statistics, building the model and every epoch with its test pass are timed.
    started = time.perf_counter()
    mean, std = pixel_statistics(images)
    normalise = lambda x: (x.float() / 255.0 - mean) / std  # noqa: E731
    padded = nn.functional.pad(images, (MAX_SHIFT,) * 4)
    test_inputs = normalise(test)

    model = Net()
    optimizer = torch.optim.Adam(
        model.parameters(), lr=PEAK_LEARNING_RATE, betas=ADAM_BETAS, eps=ADAM_EPS
    )
    loss_fn = nn.CrossEntropyLoss()
    batch_size = args.batch_size
    total_steps = args.epochs * math.ceil(len(images) / batch_size)
    step = 0
    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        # A new order and new shifts every epoch.
        order = torch.randperm(len(images))
        shifts = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (len(images), 2))
        for start in range(0, len(images), batch_size):
            chosen = order[start : start + batch_size]
            x = normalise(shifted(padded[chosen], shifts[start : start + batch_size]))
            for group in optimizer.param_groups:
                group["lr"] = cosine_learning_rate(step, total_steps)
            loss = loss_fn(model(x.unsqueeze(1)), labels[chosen])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
        accuracy = test_accuracy(model, test_inputs, test_labels)
        seconds = time.perf_counter() - started
        line = {"epoch": epoch, "seconds": round(seconds, 2), "test_accuracy": accuracy}
        print(json.dumps(line), flush=True)

    summary = {
        "backend": f"pytorch {torch.__version__} cpu",
        "threads": torch.get_num_threads(),
        "train_images": len(images),
        "test_images": len(test),
        "epochs": args.epochs,
        "seconds": round(time.perf_counter() - started, 2),
        "test_accuracy": accuracy,
    }
    print(json.dumps(summary), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument(
        "--recipe", action="store_true", help="train with the committed recipe instead"
    )
    parser.add_argument("--epochs", type=int, default=RECIPE_EPOCHS, help="with --recipe")
    parser.add_argument(
        "--limit", type=int, help="with --recipe: the first N images of each split only"
    )
    parser.add_argument("--seed", type=int, default=42, help="with --recipe")
    args = parser.parse_args()

    data_dir = pathlib.Path(os.environ.get("DATASETS_DIR") or ROOT / "datasets") / "mnist"
    if not (data_dir / "train-images-idx3-ubyte.gz").is_file():
        print(f"error: the MNIST IDX files are missing from {data_dir}", file=sys.stderr)
        return 1
    if args.recipe:
        return recipe(args, data_dir)
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
