"""PyTorch reference for `cargo bench -p benches --bench train_step`: the same models, one
training step (forward, cross-entropy, backward, Adam) on random data, images per second.

Usage: python3 benches/pytorch/train_step.py [--threads 2] [--repeats 5]
Prints one line per case: model, batch, median images/s over the repeats.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def small():
    layers, blocks = [], [(1, 12), (12, 16), (16, 24), (24, 24), (24, 32)]
    for i, (cin, cout) in enumerate(blocks):
        layers += [nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        if i == 1:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(32, 10)]
    return nn.Sequential(*layers)


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


def images_per_second(make, batch, repeats, seconds=2.0):
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(5):
        step()
    rates = []
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            step()
            n += 1
        rates.append(n * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    for name, make, batch in [("cnn", cnn, 64), ("cnn", cnn, 256), ("small", small, 64), ("mlp", mlp, 64)]:
        print(f"{name} batch {batch}: {images_per_second(make, batch, args.repeats):.0f} images/s")


if __name__ == "__main__":
    main()
