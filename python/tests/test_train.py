"""Item 2: the C trainer from Python over a zoptic model and over a Python
callable (bit-identical to the same forward in C), exact query accounting
and budget, errors of the callable, checkpoints shared with `zoptic train`
in both directions."""
import os
import subprocess

import numpy as np
import pytest

import zoptic
from zoptic.model import config_text


def c_forward_box(model):
    """A callable box whose forward is the model's C forward on each
    materialised setting theta_v (Variations.apply: the C core's float32
    arithmetic): the callback path against the in-process backend."""
    def f(theta, var, x):
        out = np.empty((len(var), x.shape[0], model.output_size), np.float32)
        for v in range(len(var)):
            out[v] = model.forward(x, theta=var.apply(v))
        return out
    return f


def batches(ds, n, batch=20, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        idx = rng.choice(ds.n, batch, replace=False)
        yield ds.inputs[idx], ds.targets[idx]


@pytest.mark.parametrize("zo", [
    {"method": "zo-i", "Q": 5},
    {"method": "zo-co", "Q": 5},
    {"method": "zo-np", "Q": 5, "t_ud": 3},
    {"method": "zo-i", "Q": 3, "mode": "all", "difference": "central"},
    {"method": "zo-np", "Q": 3, "t_ud": 2, "optimizer": "sgd", "fisher_schedule": "cycle"}])
def test_callable_is_bit_identical_to_the_model_in_c(mzi_cfg, zo):
    train, test = zoptic.load_data(mzi_cfg)
    model = zoptic.Model(mzi_cfg, data=(train, test))
    ref = zoptic.Model(mzi_cfg, data=(train, test))
    zo = dict(zo, lr=0.01)
    a = zoptic.Trainer(model, zo=zo, budget=5000)
    b = zoptic.Trainer(c_forward_box(ref), theta0=model.theta, loss=model.loss, zo=zo,
                       budget=5000, n_params=model.n_params, input_size=64,
                       output_size=10, n_max=model.n_max)
    for x, y in batches(train, 8):
        assert a.step(x, y) == b.step(x, y)
    assert np.array_equal(a.theta, b.theta)
    assert not np.array_equal(a.theta, model.theta)  # it trained
    assert a.counters["queries"] == b.counters["queries"]
    assert a.evaluate(test.inputs, test.targets) == b.evaluate(test.inputs, test.targets)


def test_variations_are_descriptors_not_theta_copies(mzi_cfg):
    train, _ = zoptic.load_data(mzi_cfg)
    model = zoptic.Model(mzi_cfg, data=(train, None))
    seen = []

    def f(theta, var, x):
        seen.append((theta.__array_interface__["data"][0], theta.flags.writeable,
                     [d.size for d in var.delta], var.length.copy(), var.first_query))
        return np.zeros((len(var), x.shape[0], 10), np.float32)

    t = zoptic.Trainer(f, theta0=model.theta, loss=model.loss,
                       zo={"method": "zo-i", "Q": 4, "n_max": 100},
                       n_params=model.n_params, input_size=64, output_size=10)
    for x, y in batches(train, 3):
        t.step(x, y)
    base = t.theta.__array_interface__["data"][0]
    first = 0
    for addr, writeable, sizes, lens, fq in seen:
        assert addr == base and not writeable  # the trainer's own theta
        assert sizes[0] == 0  # the base point
        assert all(0 < s <= 100 for s in sizes[1:])  # one block each
        assert list(lens) == sizes
        assert fq == first
        first += len(sizes)
    assert first == t.counters["queries"] == 3 * 5


def test_query_accounting_and_budget(mzi_cfg):
    train, _ = zoptic.load_data(mzi_cfg)
    model = zoptic.Model(mzi_cfg, data=(train, None))
    settings = []

    def f(theta, var, x):
        settings.append(len(var))
        return np.full((len(var), x.shape[0], 10), 0.1, np.float32) + \
            np.arange(10, dtype=np.float32) * 1e-3 * float(var.scale.sum())

    Q = 4
    t = zoptic.Trainer(f, theta0=model.theta, loss=model.loss,
                       zo={"method": "zo-i", "Q": Q}, budget=3 * (Q + 1) + 2,
                       n_params=model.n_params, input_size=64, output_size=10)
    assert t.next_cost() == Q + 1 and t.budget == 3 * (Q + 1) + 2
    it = batches(train, 10)
    for _ in range(3):
        assert t.step(*next(it))[1] == Q + 1
    before = t.theta.copy()
    with pytest.raises(zoptic.BudgetExhausted, match="budget"):
        t.step(*next(it))
    c = t.counters
    assert c["queries"] == sum(settings) == 3 * (Q + 1)  # nothing spent by the refusal
    assert c["base_queries"] == 3 and c["perturbed_queries"] == 3 * Q
    assert c["sample_forwards"] == 3 * (Q + 1) * 20
    assert np.array_equal(before, t.theta)


def test_callable_errors(mzi_cfg):
    train, _ = zoptic.load_data(mzi_cfg)
    model = zoptic.Model(mzi_cfg, data=(train, None))
    state = {"mode": "raise"}

    def f(theta, var, x):
        shape = (len(var), x.shape[0], 10)
        if state["mode"] == "raise":
            raise RuntimeError("the laser is off")
        if state["mode"] == "shape":
            return np.zeros((shape[0], shape[1], 9), np.float32)
        if state["mode"] == "dtype":
            return np.zeros(shape, dtype=object)
        if state["mode"] == "nan":
            return np.full(shape, np.nan, np.float32)
        return model.forward(x, theta=var.apply(0))[None].repeat(len(var), 0) + \
            var.scale[:, None, None]

    t = zoptic.Trainer(f, theta0=model.theta, loss=model.loss, zo={"method": "zo-i", "Q": 2},
                       n_params=model.n_params, input_size=64, output_size=10)
    x, y = next(batches(train, 1))
    with pytest.raises(zoptic.BackendError, match="the laser is off") as ei:
        t.step(x, y)
    assert isinstance(ei.value.__cause__, RuntimeError)
    assert "black box 'f'" in str(ei.value)
    state["mode"] = "shape"
    with pytest.raises(zoptic.BackendError, match=r"expected \(3, 20, 10\)") as ei:
        t.step(x, y)
    assert isinstance(ei.value.__cause__, ValueError)
    state["mode"] = "dtype"
    with pytest.raises(zoptic.BackendError, match="dtype object") as ei:
        t.step(x, y)
    assert isinstance(ei.value.__cause__, TypeError)
    state["mode"] = "nan"
    with pytest.raises(zoptic.NumericError):
        t.step(x, y)
    assert t.counters["queries"] == 0  # failed iterations count nothing
    state["mode"] = "ok"
    assert t.step(x, y)[1] == 3  # and the trainer is still usable
    # KeyboardInterrupt inside the callable reaches the caller as itself
    state["mode"] = "raise"

    def interrupt(theta, var, x):
        raise KeyboardInterrupt

    k = zoptic.Trainer(interrupt, theta0=model.theta, loss=model.loss,
                       n_params=model.n_params, input_size=64, output_size=10)
    with pytest.raises(KeyboardInterrupt):
        k.step(x, y)


def test_trainer_argument_errors(mzi_cfg):
    train, _ = zoptic.load_data(mzi_cfg)
    model = zoptic.Model(mzi_cfg, data=(train, None))
    t = zoptic.Trainer(model, zo={"Q": 2})
    x, y = next(batches(train, 1))
    with pytest.raises(ValueError, match="inputs"):
        t.step(x[:, :60], y)
    with pytest.raises(ValueError, match="targets"):
        t.step(x, y[:5])
    with pytest.raises(TypeError, match="complex"):
        t.step(x.astype(np.complex64), y)
    with pytest.raises(zoptic.ZopticValueError, match="target"):
        t.step(x, np.full_like(y, 11))  # class 11 of 10
    with pytest.raises(zoptic.ZopticValueError, match=r"\[zo\] Q = '0'"):
        zoptic.Trainer(model, zo={"Q": 0})
    with pytest.raises(zoptic.ZopticValueError, match="method"):
        zoptic.Trainer(model, zo={"method": "zo-x"})
    with pytest.raises(ValueError, match="theta0"):
        zoptic.Trainer(model, theta0=np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="n_params"):
        zoptic.Trainer(lambda th, v, x: None, loss=model.loss)
    with pytest.raises(ValueError, match="budget"):
        zoptic.Trainer(model, budget=-1)


def test_callable_checkpoint_resumes_bit_identically(mzi_cfg, tmp_path):
    train, _ = zoptic.load_data(mzi_cfg)
    ref = zoptic.Model(mzi_cfg, data=(train, None))
    zo = {"method": "zo-np", "Q": 3, "t_ud": 2, "lr": 0.01}

    def make():
        return zoptic.Trainer(c_forward_box(ref), theta0=ref.theta, loss=ref.loss, zo=zo,
                              n_params=ref.n_params, input_size=64, output_size=10,
                              n_max=ref.n_max)
    data = list(batches(train, 10))
    a = make()
    for x, y in data[:5]:
        a.step(x, y)
    a.save(tmp_path / "c.h5")
    for x, y in data[5:]:
        a.step(x, y)
    b = make()
    b.load(tmp_path / "c.h5")
    for x, y in data[5:]:
        b.step(x, y)
    assert np.array_equal(a.theta, b.theta)
    assert a.counters["queries"] == b.counters["queries"]
    with pytest.raises(zoptic.ZopticIOError):
        b.load(tmp_path / "none.h5")


def same_checkpoint(zoptic_bin, a, b):
    def norm(p):
        out = subprocess.run([zoptic_bin, "info", "--values", "--no-config", str(p)],
                             check=True, capture_output=True, text=True).stdout
        return [l for l in out.splitlines() if not l.startswith(("checkpoint:", "created:",
                "host:")) and "run/seconds" not in l and "zo/seconds" not in l]
    assert norm(a) == norm(b)


def log_rows(p):
    return [l.split(",")[:3] + l.split(",")[4:] for l in open(p).read().splitlines()]


def test_run_started_in_python_resumes_with_zoptic(mzi_cfg, tmp_path, zoptic_bin):
    cfg = dict(mzi_cfg, zo={"method": "zo-np", "Q": 3, "t_ud": 4, "lr": 0.01},
               train={"budget": 1500, "eval_every": 3, "checkpoint_every": 0})
    ini = tmp_path / "run.ini"
    ini.write_text(config_text(cfg))
    subprocess.run([zoptic_bin, "train", str(ini), "--out", str(tmp_path / "cli")],
                   check=True, capture_output=True)
    r = zoptic.Run(cfg, out=tmp_path / "py")
    c = r.train(max_iterations=7)
    assert c["iteration"] == 7 and 0 < c["queries"] < 1500
    p = subprocess.run([zoptic_bin, "train", "--resume", str(tmp_path / "py")],
                       check=True, capture_output=True, text=True)
    assert "resuming" in p.stderr
    same_checkpoint(zoptic_bin, tmp_path / "cli" / "ckpt.h5", tmp_path / "py" / "ckpt.h5")
    assert log_rows(tmp_path / "cli" / "log.csv") == log_rows(tmp_path / "py" / "log.csv")


def test_run_of_zoptic_resumes_in_python(mzi_cfg, tmp_path, zoptic_bin):
    cfg = dict(mzi_cfg, zo={"method": "zo-np", "Q": 3, "t_ud": 4, "lr": 0.01},
               train={"budget": 600, "eval_every": 4, "checkpoint_every": 0})
    ini = tmp_path / "run.ini"
    ini.write_text(config_text(cfg))
    subprocess.run([zoptic_bin, "train", str(ini), "--out", str(tmp_path / "cli")],
                   check=True, capture_output=True)
    r = zoptic.Run.resume(tmp_path / "cli", budget=1500)  # extends the budget
    assert r.counters["queries"] <= 600
    r.train()
    cfg["train"]["budget"] = 1500
    whole = zoptic.Run(cfg, out=tmp_path / "whole")
    whole.train()
    assert np.array_equal(r.model.theta, whole.model.theta)
    assert r.counters["queries"] == whole.counters["queries"]
    assert r.counters["test_metric"] == whole.counters["test_metric"]


def test_run_errors(mzi_cfg, tmp_path):
    with pytest.raises(zoptic.ZopticValueError, match="data.batch = 500"):
        zoptic.Run(mzi_cfg, {"data.batch": 500}, out=tmp_path / "a")
    with pytest.raises(zoptic.ZopticValueError, match=r"missing required key \[model\] kind"):
        zoptic.Run({"data": mzi_cfg["data"], "train": {"budget": 5}}, out=tmp_path / "b")
    zoptic.Run(mzi_cfg, out=tmp_path / "c")
    with pytest.raises(zoptic.ZopticValueError, match="already"):
        zoptic.Run(mzi_cfg, out=tmp_path / "c")
    with pytest.raises(zoptic.ZopticIOError):
        zoptic.Run.resume(tmp_path / "nothing")


def test_run_config_equals_zoptic_train(mzi_cfg, tmp_path, zoptic_bin):
    """A config file whose data.path is relative to its own folder: the run
    directory's config.ini of zoptic.Run equals that of `zoptic train`
    (data path made absolute, output.dir recorded, task metric filled in)
    apart from output.dir itself."""
    sub = tmp_path / "exp"
    sub.mkdir()
    (sub / "d.csv").write_text(open(mzi_cfg["data"]["path"]).read())
    cfg = dict(mzi_cfg, data=dict(mzi_cfg["data"], path="d.csv"))
    ini = sub / "run.ini"
    ini.write_text(config_text(cfg))
    subprocess.run([zoptic_bin, "train", str(ini), "--out", str(tmp_path / "cli")],
                   check=True, capture_output=True, cwd=str(tmp_path))
    zoptic.Run(str(ini), out=tmp_path / "py").train()

    def lines(p):
        return [l for l in open(p).read().splitlines()
                if not l.startswith(("#", ";", "dir")) and l.strip()]
    a, b = lines(tmp_path / "cli" / "config.ini"), lines(tmp_path / "py" / "config.ini")
    assert a == b
    assert "path = %s" % os.path.realpath(sub / "d.csv") in a
