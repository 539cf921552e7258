"""Shared fixtures: the build directory (BUILD, default build), tiny data
written here (no downloads), small configurations."""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "python"))
BUILD = os.environ.get("BUILD", "build")
BUILD_DIR = BUILD if os.path.isabs(BUILD) else os.path.join(REPO, BUILD)


def write_digits(path, n=400, seed=5):
    """A digits-format CSV (64 pixels 0..16, then the label 0..9): class c
    lights pixel row c % 8 (c >= 8: every other pixel of it)."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for _ in range(n):
            c = int(rng.integers(10))
            px = rng.integers(0, 4, 64)
            for p in range(64):
                if p // 8 == c % 8 and (c < 8 or p % 2 == c - 8):
                    px[p] = 16
            f.write(",".join(str(int(v)) for v in px) + ",%d\n" % c)


@pytest.fixture(scope="session")
def zoptic_bin():
    return os.path.join(BUILD_DIR, "zoptic")


@pytest.fixture(scope="session")
def digits(tmp_path_factory):
    p = tmp_path_factory.mktemp("data") / "digits.csv"
    write_digits(p)
    return str(p)


@pytest.fixture
def mzi_cfg(digits):
    """The MZI classifier (K = 16) on the tiny digits set."""
    return {"data": {"task": "digits", "path": digits, "n_test": 100, "batch": 20},
            "model": {"kind": "mzi-classifier", "K": 16},
            "zo": {"method": "zo-i", "Q": 4, "lr": 0.01},
            "train": {"budget": 300, "eval_every": 5, "checkpoint_every": 0}}
