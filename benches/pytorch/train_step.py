"""PyTorch reference for the engine's `step_rate` bench (and `cargo bench -p benches --bench
train_step`): the same models, on random data, in images per second, for
  train:<model>:<batch>  one training step (forward, cross-entropy, backward, Adam);
  eval:<model>:<batch>   eval-mode forward of 10,000 images (the test set's size) in batches,
                         under torch.no_grad(), with the argmax of the logits.

Usage: python3 benches/pytorch/train_step.py [--threads 2] [--repeats 3] [--seconds 2]
           [--case train:cnn:64 ...]
Prints a header, then `case <mode>:<model>:<batch> <median images/s>` per case: the same lines
as `step_rate`, which `benches/compare_pytorch.py` alternates with this script.
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


CASES = ["train:cnn:64", "train:cnn:256", "train:cnn:1024", "train:small:64", "train:mlp:64",
         "eval:cnn:1000", "eval:small:1000", "eval:mlp:1000"]
MODELS = {"cnn": cnn, "small": small, "mlp": mlp}
EVAL_IMAGES = 10_000


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


def eval_images_per_second(make, batch, repeats):
    model = make()
    model.eval()
    batches = [torch.randn(min(batch, EVAL_IMAGES - i), 1, 28, 28)
               for i in range(0, EVAL_IMAGES, batch)]

    def one_pass():
        with torch.no_grad():
            for x in batches:
                model(x).argmax(1)

    one_pass()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        one_pass()
        rates.append(EVAL_IMAGES / (time.perf_counter() - start))
    return statistics.median(rates)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--case", action="append", help="<train|eval>:<model>:<batch>; repeatable")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, "
          f"cpu capability {torch.backends.cpu.get_cpu_capability()}")
    for case in args.case or CASES:
        mode, name, batch = case.split(":")
        make, batch = MODELS[name], int(batch)
        if mode == "train":
            rate = images_per_second(make, batch, args.repeats, args.seconds)
        elif mode == "eval":
            rate = eval_images_per_second(make, batch, args.repeats)
        else:
            raise SystemExit(f"case {case!r}: mode must be train or eval")
        print(f"case {case} {rate:.0f}", flush=True)


if __name__ == "__main__":
    main()
