"""PyTorch peer of zoptic's CNN ZO-I iteration (bench/run.sh, docs/performance.md).

The task-1 CNN (conv 1->6 5x5 + ReLU + 2x2 max-pool -> conv 6->16 5x5 + ReLU
+ pool -> dense 256->16 + ReLU -> dense 16->10, 6,854 parameters), B = 100,
Q = 20, forward differences, Gaussian perturbations of ALL parameters
(normalised to ||u|| = sqrt(N), step mu / sqrt(N)), Adam step.

Written the way a competent PyTorch user would batch it: the Q+1 parameter
sets are ONE (V, N) tensor; the first convolution sees the same input for
every set, so its V*6 filters run as one conv2d; the second is a grouped
convolution (groups = V); the dense layers are batched matmuls; no Python
loop over samples or variations; torch.no_grad; torch.set_num_threads(2).

Run with Debian's interpreter: /usr/bin/python3 bench/torch_peer.py [--reps R]
Prints CSV lines section,model,variant,metric,value like zpt_bench.
"""
import argparse
import math
import os
import time

import torch
import torch.nn.functional as F

B, Q, MU, LR = 100, 20, 1e-3, 1e-3
SHAPES = [("conv1.weight", (6, 1, 5, 5)), ("conv1.bias", (6,)),
          ("conv2.weight", (16, 6, 5, 5)), ("conv2.bias", (16,)),
          ("fc1.weight", (16, 256)), ("fc1.bias", (16,)),
          ("fc2.weight", (10, 16)), ("fc2.bias", (10,))]
N = sum(math.prod(s) for _, s in SHAPES)


def unflatten(thetas):
    """(V, N) -> dict of (V, *shape) views."""
    out, off = {}, 0
    for name, shape in SHAPES:
        n = math.prod(shape)
        out[name] = thetas[:, off:off + n].reshape(thetas.shape[0], *shape)
        off += n
    return out


def forward(thetas, x):
    """Logits (V, B, 10) of V parameter sets on the same batch x (B,1,28,28)."""
    V = thetas.shape[0]
    p = unflatten(thetas)
    h = F.conv2d(x, p["conv1.weight"].reshape(V * 6, 1, 5, 5), p["conv1.bias"].reshape(-1))
    h = F.max_pool2d(F.relu(h), 2)                              # (B, V*6, 12, 12)
    h = F.conv2d(h, p["conv2.weight"].reshape(V * 16, 6, 5, 5), p["conv2.bias"].reshape(-1),
                 groups=V)
    h = F.max_pool2d(F.relu(h), 2)                              # (B, V*16, 4, 4)
    h = h.reshape(x.shape[0], V, 256).transpose(0, 1)           # (V, B, 256)
    h = F.relu(torch.baddbmm(p["fc1.bias"].unsqueeze(1), h, p["fc1.weight"].transpose(1, 2)))
    return torch.baddbmm(p["fc2.bias"].unsqueeze(1), h, p["fc2.weight"].transpose(1, 2))


def losses(logits, y):
    """Mean cross-entropy per parameter set: (V,)."""
    lp = torch.log_softmax(logits, dim=2)
    return -lp.gather(2, y.view(1, -1, 1).expand(logits.shape[0], -1, 1)).squeeze(2).mean(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20, help="iterations per repetition")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = torch.rand(B, 1, 28, 28)
    y = torch.randint(0, 10, (B,))
    theta = torch.nn.Parameter(torch.randn(N) * 0.1)
    opt = torch.optim.Adam([theta], lr=LR)
    scale = math.sqrt(N)
    h = MU / scale

    def iteration():
        with torch.no_grad():
            u = torch.randn(Q, N)
            u *= scale / u.norm(dim=1, keepdim=True)               # ||u_q|| = sqrt(N)
            thetas = torch.cat([theta.detach().unsqueeze(0), theta.detach() + h * u])
            l = losses(forward(thetas, x), y)
            dl = (l[1:] - l[0]) / h                                 # forward differences
            theta.grad = (dl.unsqueeze(1) * u).mean(0)
        opt.step()

    for _ in range(3):                                              # warm-up
        iteration()
    times, cpu = [], []
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.iters):
            iteration()
        times.append((time.perf_counter() - t0) / args.iters)
        cpu.append((time.process_time() - c0) / args.iters)

    def median(v):
        v = sorted(v)
        return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])

    variant = "threads%d" % args.threads
    print("torch,cnn,%s,seconds,%.6g" % (variant, median(times)))
    print("torch,cnn,%s,cpu_seconds,%.6g" % (variant, median(cpu)))
    print("torch,cnn,%s,torch_version,%s" % (variant, torch.__version__.split("+")[0]))
    print("torch,cnn,%s,num_threads,%d" % (variant, torch.get_num_threads()))
    print("torch,cnn,%s,mkldnn,%d" % (variant, int(torch.backends.mkldnn.is_available())))


if __name__ == "__main__":
    main()
