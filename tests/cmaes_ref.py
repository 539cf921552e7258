#!/usr/bin/python3
"""zoptic's CMA-ES (src/zo/cmaes.c, through build/libzoptic.so) against
Debian's python3-cmaes on sphere, ellipsoid and Rosenbrock: the number of
function evaluations until f < target, over many seeds, for both.

A statistical check, not a bit comparison (the two draw different random
numbers): for each (function, n, variant) the two samples of
evaluations-to-target must (a) have medians within a factor TOL of each
other and (b) not differ by an exact two-sided Mann-Whitney test at
p < ALPHA.  Runs that do not reach the target within the evaluation cap
count as failures of the check.

  tests/cmaes_ref.py LIBZOPTIC_SO [--full] [--seeds 20]
    quick (make check, tests/cmaes_ref_test.sh): the sphere at n = 10, full
      covariance and separable (python3-cmaes is slow: ~0.2-4 ms per
      evaluation, so the quick version keeps to ~3,000 of them per seed)
    --full [--dims 10,30,100] [--funcs sphere,ellipsoid,rosenbrock]: sphere
      and ellipsoid full and separable,
      Rosenbrock full only (separable CMA-ES crawls there: neither reached
      1e-8 in 1e5 evaluations at n = 10, 2 seeds each);
      docs/results.md round 3 gives its output
"""
import argparse
import ctypes
import math
import sys

import numpy as np

try:
    from cmaes import CMA, SepCMA
except ImportError:
    print("cmaes_ref: SKIP: python3-cmaes is not installed (apt-get install python3-cmaes)")
    sys.exit(77)

TOL = 1.25     # medians within a factor 1.25 of each other
ALPHA = 0.001  # Mann-Whitney: fail only at p < 0.001 (false alarm 0.1% per row)
TARGET = 1e-8


def sphere(x):
    return float(np.dot(x, x))


def ellipsoid(x):
    n = len(x)
    w = 10.0 ** (6.0 * np.arange(n) / max(n - 1, 1))
    return float(np.dot(w, x * x))


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


FUNCS = {"sphere": (sphere, 3.0), "ellipsoid": (ellipsoid, 3.0), "rosenbrock": (rosenbrock, 0.0)}
SIGMA0 = 1.0


class ZCmaes:
    def __init__(self, lib):
        self.lib = lib
        lib.zpt_cmaes_alloc.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t,
                                        ctypes.POINTER(ctypes.c_double), ctypes.c_void_p]
        lib.zpt_cmaes_alloc.restype = ctypes.c_int
        lib.zpt_cmaes_ask.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)]
        lib.zpt_cmaes_tell.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]
        lib.zpt_cmaes_tell.restype = ctypes.c_int
        lib.zpt_cmaes_lambda.argtypes = [ctypes.c_void_p]
        lib.zpt_cmaes_lambda.restype = ctypes.c_size_t
        lib.zpt_cmaes_mean.argtypes = [ctypes.c_void_p]
        lib.zpt_cmaes_mean.restype = ctypes.POINTER(ctypes.c_double)
        lib.zpt_cmaes_sigma.argtypes = [ctypes.c_void_p]
        lib.zpt_cmaes_sigma.restype = ctypes.c_double
        lib.zpt_cmaes_free.argtypes = [ctypes.c_void_p]
        lib.zpt_rng_alloc.argtypes = [ctypes.c_uint64] * 4
        lib.zpt_rng_alloc.restype = ctypes.c_void_p
        lib.zpt_rng_free.argtypes = [ctypes.c_void_p]

    def run(self, f, x0, sep, seed, cap):
        """Evaluations until f < TARGET (None if cap is reached)."""
        lib, n = self.lib, len(x0)

        class Settings(ctypes.Structure):
            _fields_ = [("lambda_", ctypes.c_size_t), ("mu", ctypes.c_size_t),
                        ("sigma0", ctypes.c_double), ("kind", ctypes.c_int),
                        ("full_max", ctypes.c_size_t)]
        s = Settings(0, 0, SIGMA0, 2 if sep else 1, 2000)
        c = ctypes.c_void_p()
        m0 = (ctypes.c_double * n)(*x0)
        if lib.zpt_cmaes_alloc(ctypes.byref(c), n, m0, ctypes.byref(s)) != 0:
            raise RuntimeError("zpt_cmaes_alloc failed")
        lam = lib.zpt_cmaes_lambda(c)
        y = (ctypes.c_float * (lam * n))()
        fv = (ctypes.c_double * lam)()
        evals, found = 0, None
        for g in range(cap // lam + 1):
            r = lib.zpt_rng_alloc(seed, 9, g, 0)  # ZPT_STREAM_TEST, i = generation
            lib.zpt_cmaes_ask(c, r, y)
            lib.zpt_rng_free(r)
            m = np.ctypeslib.as_array(lib.zpt_cmaes_mean(c), shape=(n,)).copy()
            sig = lib.zpt_cmaes_sigma(c)
            Y = np.ctypeslib.as_array(y).reshape(lam, n).astype(np.float64)
            for k in range(lam):
                fv[k] = f(m + sig * Y[k])
                evals += 1
                if fv[k] < TARGET:
                    found = evals
                    break
            if found or evals >= cap:
                break
            if lib.zpt_cmaes_tell(c, fv) != 0:
                break
        lib.zpt_cmaes_free(c)
        return found


def run_py(f, x0, sep, seed, cap):
    opt = (SepCMA if sep else CMA)(mean=np.array(x0, dtype=float), sigma=SIGMA0, seed=seed)
    evals = 0
    while evals < cap:
        sols = []
        for _ in range(opt.population_size):
            x = opt.ask()
            v = f(x)
            evals += 1
            if v < TARGET:
                return evals
            sols.append((x, v))
        opt.tell(sols)
    return None


def mann_whitney_exact(x, y):
    """Two-sided exact Mann-Whitney p (no ties assumed; ties get mid-ranks
    and the exact null of the untied case, slightly conservative)."""
    n1, n2 = len(x), len(y)
    allv = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
    ranks, i = {}, 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1][0] == allv[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks.setdefault(k, (i + j) / 2 + 1)
        i = j + 1
    r1 = sum(ranks[k] for k, (v, g) in enumerate(allv) if g == 0)
    u = r1 - n1 * (n1 + 1) / 2
    # exact null distribution of U by dynamic programming
    counts = [[[0] * (n1 * n2 + 1) for _ in range(n2 + 1)] for _ in range(n1 + 1)]
    for a in range(n1 + 1):
        for b in range(n2 + 1):
            if a == 0 or b == 0:
                counts[a][b][0] = 1
                continue
            for s in range(n1 * n2 + 1):
                c = counts[a - 1][b][s - b] if s >= b else 0
                counts[a][b][s] = c + counts[a][b - 1][s]
    dist = counts[n1][n2]
    total = float(sum(dist))
    mean = n1 * n2 / 2
    dev = abs(u - mean)
    tail = sum(c for s, c in enumerate(dist) if abs(s - mean) >= dev - 1e-9)
    return min(1.0, tail / total)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--dims", default="10,30,100", help="--full: the dimensions")
    ap.add_argument("--funcs", default=",".join(FUNCS),
                    help="--full: the functions (%s)" % ",".join(FUNCS))
    a = ap.parse_args()
    z = ZCmaes(ctypes.CDLL(a.lib))
    dims = [int(d) for d in a.dims.split(",")] if a.full else [10]
    bad = 0
    print("| function | n | variant | zoptic median (IQR) | python3-cmaes median (IQR) | ratio | MW p | verdict |")
    print("|---|---|---|---|---|---|---|---|")
    names = a.funcs.split(",")
    unknown = [f for f in names if f not in FUNCS]
    if unknown:
        ap.error("--funcs: unknown %s (known: %s)" % (",".join(unknown), ",".join(FUNCS)))
    funcs = {k: FUNCS[k] for k in names} if a.full else {"sphere": FUNCS["sphere"]}
    for n in dims:
        for name, (f, x0v) in funcs.items():
            for sep in (False, True):
                if sep and name == "rosenbrock":
                    continue  # separable CMA-ES crawls on it (both: > 1e5 evaluations at n = 10)
                cap = 1000 * n * (10 if name == "rosenbrock" else 3)
                x0 = [x0v] * n
                zs = [z.run(f, x0, sep, 1000 + s, cap) for s in range(a.seeds)]
                ps = [run_py(f, x0, sep, 1000 + s, cap) for s in range(a.seeds)]
                zf = [v for v in zs if v is not None]
                pf = [v for v in ps if v is not None]
                # Rosenbrock: a run may stall in the local minimum (n >= 4);
                # compare the reach rates and the successful runs' counts
                ok_rate = abs(len(zf) - len(pf)) <= max(2, a.seeds // 5)
                if len(zf) < 3 or len(pf) < 3:
                    print("| %s | %d | %s | %d/%d reached | %d/%d reached | | | FAIL |"
                          % (name, n, "sep" if sep else "full", len(zf), a.seeds, len(pf), a.seeds))
                    bad += 1
                    continue
                mz, mp = float(np.median(zf)), float(np.median(pf))
                ratio = mz / mp
                p = mann_whitney_exact(zf, pf)
                ok = ok_rate and 1 / TOL <= ratio <= TOL and p >= ALPHA
                bad += not ok
                q = lambda v: "%d (%d-%d)" % (np.median(v), np.percentile(v, 25), np.percentile(v, 75))
                extra = "" if len(zf) == len(pf) == a.seeds else " [reached %d/%d vs %d/%d]" % (
                    len(zf), a.seeds, len(pf), a.seeds)
                print("| %s | %d | %s | %s | %s | %.3f | %.3g | %s%s |" % (
                    name, n, "sep" if sep else "full", q(zf), q(pf), ratio, p,
                    "ok" if ok else "FAIL", extra))
                sys.stdout.flush()
    print("cmaes_ref: %s (tolerance: medians within x%.2f, Mann-Whitney p >= %g, %d seeds)"
          % ("ok" if bad == 0 else "%d FAILED" % bad, TOL, ALPHA, a.seeds))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
