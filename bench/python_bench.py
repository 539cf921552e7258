"""`make bench` rows of the Python package (docs/python.md, "Speed"):

1. Per-query overhead of a Python black box: one ZO-I iteration (block
   mode, Q = 20, B = 100) of the MZI classifier (K = 16, 768 parameters) with
   (a) the model in C (the in-process backend), (b) a Python callable doing
   the same forward in C per setting (Variations.apply + Model.forward), and
   (c) a Python callable that returns zeros (the boundary alone: cffi
   callback, descriptor arrays, output copy).  Reported: seconds per
   iteration and (b - a) / (Q + 1), (c) / (Q + 1) per query.
2. The PyTorch adapter (zoptic.torch.ZOOptimizer, ZO-I with perturbations of
   all parameters, Q = 20, B = 100, Adam) on bench/torch_peer.py's CNN as an
   nn.Module, against torch_peer.py's batched loop (run here too, same
   threads): seconds per iteration.

Prints CSV lines section,model,variant,metric,value (section "python") and,
on stderr, a short table.  Run: /usr/bin/python3 bench/python_bench.py
[--reps R] [--threads T]  (with BUILD, default build, holding libzoptic.so).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import zoptic  # noqa: E402

Q, B = 20, 100


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])


def timed(step, iters, reps):
    """(wall, CPU) seconds per call, medians over reps rounds of iters."""
    for _ in range(2):
        step()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            step()
        wall.append((time.perf_counter() - t0) / iters)
        cpu.append((time.process_time() - c0) / iters)
    return median(wall), median(cpu)


def mzi_rows(reps):
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "digits.csv")
        with open(path, "w") as f:
            for i in range(400):
                f.write(",".join(str(int(v)) for v in rng.integers(0, 17, 64)) + ",%d\n" % (i % 10))
        cfg = {"data": {"task": "digits", "path": path, "n_test": 100, "batch": B},
               "model": {"kind": "mzi-classifier", "K": 16}, "train": {"budget": 1}}
        train, test = zoptic.load_data(cfg)
        model = zoptic.Model(cfg, data=(train, test))
    ref = zoptic.Model(cfg, data=(train, test))
    x, y = train.inputs[:B], train.targets[:B]
    zo = {"method": "zo-i", "Q": Q, "lr": 1e-3}

    def c_forward(theta, var, xb):
        out = np.empty((len(var), xb.shape[0], 10), np.float32)
        for v in range(len(var)):
            out[v] = ref.forward(xb, theta=var.apply(v))
        return out

    def zeros(theta, var, xb):
        return np.zeros((len(var), xb.shape[0], 10), np.float32)

    rows = {}
    for name, box in (("c_model", model),
                      ("python_box_c_forward", c_forward),
                      ("python_box_zeros", zeros)):
        kw = {} if box is model else dict(theta0=model.theta, loss=model.loss, n_params=768,
                                          input_size=64, output_size=10, n_max=model.n_max)
        t = zoptic.Trainer(box, zo=zo, **kw)
        rows[name] = timed(lambda: t.step(x, y), 10, reps)
    return rows


def torch_rows(reps, threads):
    import torch
    import zoptic.torch as zt
    torch.set_num_threads(threads)
    torch.manual_seed(1)

    class CNN(torch.nn.Module):  # bench/torch_peer.py's network
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = torch.nn.Conv2d(1, 6, 5), torch.nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2 = torch.nn.Linear(256, 16), torch.nn.Linear(16, 10)

        def forward(self, x):
            h = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
            h = torch.nn.functional.max_pool2d(torch.relu(self.conv2(h)), 2)
            return self.fc2(torch.relu(self.fc1(h.flatten(1))))

    net = CNN()
    opt = zt.ZOOptimizer(net, (1, 28, 28), zo={"method": "zo-i", "mode": "all", "Q": Q,
                                               "mu": 1e-3, "lr": 1e-3})
    x = torch.rand(B, 1, 28, 28)
    y = torch.randint(0, 10, (B,))
    adapter = timed(lambda: opt.step(x, y), 10, reps)
    p = subprocess.run([sys.executable, os.path.join(HERE, "torch_peer.py"), "--reps", str(reps),
                        "--threads", str(threads)], capture_output=True, text=True, check=True)
    val = {l.split(",")[3]: float(l.split(",")[4]) for l in p.stdout.splitlines()
           if ",seconds," in l or ",cpu_seconds," in l}
    return {"torch_adapter": adapter, "torch_peer": (val["seconds"], val["cpu_seconds"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    m = mzi_rows(a.reps)
    for k, (w, c) in m.items():
        print("python,mzi16,%s,seconds_per_iteration,%.6g" % (k, w))
        print("python,mzi16,%s,cpu_seconds_per_iteration,%.6g" % (k, c))
    over = [(m["python_box_c_forward"][i] - m["c_model"][i]) / (Q + 1) for i in (0, 1)]
    bound = [m["python_box_zeros"][i] / (Q + 1) for i in (0, 1)]
    print("python,mzi16,python_box_c_forward,overhead_cpu_seconds_per_query,%.6g" % over[1])
    print("python,mzi16,python_box_zeros,cpu_seconds_per_query,%.6g" % bound[1])
    sys.stderr.write("python: MZI K=16 ZO-I iteration (Q=%d, B=%d), CPU ms (wall ms): C model "
                     "%.3f (%.3f); Python box with the C forward %.3f (%.3f), +%.1f us CPU per "
                     "query; Python box returning zeros %.3f (%.3f), %.1f us CPU per query "
                     "including the trainer's own work\n"
                     % (Q, B, 1e3 * m["c_model"][1], 1e3 * m["c_model"][0],
                        1e3 * m["python_box_c_forward"][1], 1e3 * m["python_box_c_forward"][0],
                        1e6 * over[1], 1e3 * m["python_box_zeros"][1],
                        1e3 * m["python_box_zeros"][0], 1e6 * bound[1]))
    try:
        t = torch_rows(a.reps, a.threads)
    except ImportError:
        sys.stderr.write("python: no torch: adapter row skipped\n")
        return
    for k, (w, c) in t.items():
        print("python,cnn,%s_threads%d,seconds_per_iteration,%.6g" % (k, a.threads, w))
        print("python,cnn,%s_threads%d,cpu_seconds_per_iteration,%.6g" % (k, a.threads, c))
    ad, pe = t["torch_adapter"], t["torch_peer"]
    sys.stderr.write("python: CNN ZO-I iteration (Q=%d, B=%d, %d threads), CPU ms (wall ms): "
                     "zoptic.torch adapter %.2f (%.2f), torch_peer.py %.2f (%.2f): %.2fx CPU\n"
                     % (Q, B, a.threads, 1e3 * ad[1], 1e3 * ad[0], 1e3 * pe[1], 1e3 * pe[0],
                        ad[1] / pe[1]))


if __name__ == "__main__":
    main()
