#!/usr/bin/python3
"""Evaluates a zoptic model from its checkpoint alone, in numpy (#20).

    ckpt_reproduce.py CKPT.h5 DATA_FILE OUTPUTS.csv [--tol 1e-5]

reads the architecture record (state/model/architecture), theta and its
named views (/theta, /params/<view> offsets), the chip's realised
fabrication errors (state/chip/<layer>/...), the mesh layouts
(state/model/<layer>/top, col_start), the preprocessing and the test rows
(state/task/split/test_rows) from CKPT.h5 -- nothing from zoptic's C code,
its configuration file or its Python package -- computes the model's
outputs on the test rows of DATA_FILE (the file `zoptic eval` read) and
compares them with OUTPUTS.csv, written by `zoptic eval CKPT --outputs`.
Agreement: |numpy - zoptic| <= tol x the largest |output| of the sample
(zoptic computes in float32, this program in float64).  Prints the largest
such relative difference; exits 1 when it exceeds tol, 2 on a checkpoint
this program cannot evaluate (a layer kind or a chip effect it does not
implement).  The formulas are those of docs/checkpoint.md, "Architecture".
"""
import csv
import gzip
import sys

import h5py
import numpy as np


def fail(msg, code=2):
    print("ckpt_reproduce: " + msg, file=sys.stderr)
    sys.exit(code)


def parse_architecture(text):
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    if not lines or lines[0] != ["zoptic-architecture", "1"]:
        fail("not an architecture record of version 1")
    arch = {"layers": [], "preprocess": []}
    for words in lines[1:]:
        kv = dict(w.split("=", 1) for w in words if "=" in w)
        if words[0] == "input":
            arch["input"] = [int(d) for d in words[1].split("x")]
        elif words[0] == "preprocess":
            arch["preprocess"].append((words[1] if "=" not in words[1] else "", kv))
        elif words[0] == "test_rows":
            arch["test_rows"] = words[1]
        elif words[0] == "chip":
            arch["chip"] = {k: float(v) for k, v in kv.items()}
        elif words[0] == "layer":
            off, count = kv["params"].split("+")
            kv.update(name=words[1], kind=words[2], offset=int(off), n_params=int(count))
            arch["layers"].append(kv)
    return arch


def load_rows(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].lstrip().startswith("#")]
    return np.array([[float(v) for v in r[:-1]] for r in rows])  # last column: the label


def view(f, theta, name):
    d = f["params/" + name]
    off = int(d.attrs["offset"])
    return theta[off:off + int(np.prod(d.shape))].reshape(d.shape).astype(np.float64)


def splitter(g):
    a = (np.pi / 2 + g) / 2
    return np.array([[np.cos(a), 1j * np.sin(a)], [1j * np.sin(a), np.cos(a)]])


def mesh_forward(f, theta, layer, z, chip):
    name = layer["name"]
    top = f["state/model/%s/top" % name][...].astype(int)
    col_start = f["state/model/%s/col_start" % name][...].astype(int)
    phases = view(f, theta, name + ".phase")  # n_mzi x 2: theta, phi
    n = len(top)
    gamma, zeta = np.zeros(2 * n), np.ones(4 * n, complex)
    screen_zeta = np.ones(z.shape[1], complex)
    if "state/chip/%s/gamma" % name in f:
        gamma = f["state/chip/%s/gamma" % name][...]
        zr = f["state/chip/%s/zeta" % name][...]
        zeta = zr[0::2] + 1j * zr[1::2]
        sr = f["state/chip/%s/screen_zeta" % name][...]
        screen_zeta = sr[0::2] + 1j * sr[1::2]
    loss = 10 ** (-chip.get("loss_db", 0) / 20)
    z = z.copy()
    for c in range(len(col_start) - 1):
        for q in range(col_start[c], col_start[c + 1]):
            th, ph = phases[q]
            m = top[q]
            first = splitter(gamma[2 * q]) @ np.diag([zeta[4 * q] * np.exp(1j * ph), zeta[4 * q + 1]])
            second = splitter(gamma[2 * q + 1]) @ np.diag([zeta[4 * q + 2] * np.exp(1j * th),
                                                          zeta[4 * q + 3]])
            M = loss * second @ first
            z[:, [m, m + 1]] = z[:, [m, m + 1]] @ M.T
    if int(layer["screen"]):
        s = view(f, theta, name + ".screen")
        z = z * (screen_zeta * np.exp(1j * s))
    return z


def forward(f, arch, theta, x):
    chip = arch.get("chip", {})
    for key in ("phase_bits", "crosstalk", "noise_thermal", "noise_shot"):
        if chip.get(key, 0) != 0:
            fail("chip.%s = %g: not implemented here" % (key, chip[key]))
    h = x
    for L in arch["layers"]:
        kind, name = L["kind"], L["name"]
        if kind == "dense":
            W, b = view(f, theta, name + ".weight"), view(f, theta, name + ".bias")
            h = h @ W.T + b
        elif kind == "relu":
            h = np.maximum(h, 0)
        elif kind == "tanh":
            h = np.tanh(h)
        elif kind == "sigmoid":
            h = 1 / (1 + np.exp(-h))
        elif kind == "dft":
            P, bins = int(L["P"]), np.array([int(b) for b in L["bins"].split(",")])
            j = np.arange(P)[:, None]
            h = h @ (np.exp(-2j * np.pi * ((bins[None, :] * j) % P) / P) / np.sqrt(P))
        elif kind == "mzi_mesh":
            h = mesh_forward(f, theta, L, h, chip)
        elif kind == "modrelu":
            b = view(f, theta, name + ".bias")
            s = np.maximum(1 + b / (np.abs(h) + float(L["eps"])), 0)
            h = h * s
        elif kind == "detect":
            if int(L["groups"]) != 1:
                fail("detect layer %s with %s groups: not implemented here" % (name, L["groups"]))
            start, count = int(L["start"]), int(L["count"])
            h = np.abs(h[:, start:start + count]) ** 2
        else:
            fail("layer %s of kind %s: not implemented here" % (name, kind))
    return h


def main():
    args = sys.argv[1:]
    tol = 1e-5
    if "--tol" in args:
        i = args.index("--tol")
        tol = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 3:
        fail(__doc__.strip().splitlines()[2].strip())
    ckpt, data, outputs = args
    with h5py.File(ckpt, "r") as f:
        if "state/model/architecture" not in f:
            fail("%s has no architecture record (written before zoptic stored one)" % ckpt)
        arch = parse_architecture(bytes(f["state/model/architecture"][...]).decode())
        theta = f["theta"][...]
        rows = f["state/" + arch["test_rows"]][...].astype(int)
        x = load_rows(data)[rows]
        for kind, kv in arch["preprocess"]:
            if kind == "scale":
                lo, hi = float(kv["lo"]), float(kv["hi"])
                x = ((x - lo) * (1.0 / (hi - lo))).astype(np.float32).astype(np.float64)
            else:
                fail("preprocessing '%s %s': not implemented here" % (kind, kv))
        y = forward(f, arch, theta, x)
    with open(outputs) as fh:
        rd = csv.reader(fh)
        head = next(rd)
        cols = [i for i, h in enumerate(head) if h.startswith("output_")]
        ref = np.array([[float(r[i]) for i in cols] for r in rd])
    if ref.shape != y.shape:
        fail("shapes differ: zoptic %s, numpy %s" % (ref.shape, y.shape), 1)
    scale = np.maximum(np.abs(ref).max(axis=1, keepdims=True), 1e-30)
    worst = float((np.abs(y - ref) / scale).max())
    print("ckpt_reproduce: %d samples x %d outputs, %d layers; largest difference %.3g of the "
          "sample's largest output (tolerance %g)" % (y.shape[0], y.shape[1],
                                                      len(arch["layers"]), worst, tol))
    sys.exit(0 if worst <= tol else 1)


if __name__ == "__main__":
    main()
