"""Item 1: models from a configuration, checkpoints of `zoptic train`,
batched forwards, theta and named views without copies, C errors as Python
exceptions carrying the C message."""
import os
import subprocess

import h5py
import numpy as np
import pytest

import zoptic
from zoptic.model import config_text


def test_dict_ini_and_file_build_the_same_model(mzi_cfg, tmp_path):
    a = zoptic.Model(mzi_cfg)
    text = config_text(mzi_cfg)
    b = zoptic.Model(text)
    p = tmp_path / "m.ini"
    p.write_text(text)
    c = zoptic.Model(p)
    flat = {"%s.%s" % (s, k): v for s, kv in mzi_cfg.items() for k, v in kv.items()}
    d = zoptic.Model(flat)
    for m in (b, c, d):
        assert np.array_equal(a.theta, m.theta)
    assert a.n_params == a.theta.size > 0 and a.input_size == 64 and a.output_size == 10
    assert a.loss.kind == zoptic.Loss.XENT and a.loss.n_classes == 10
    e = zoptic.Model(mzi_cfg, {"model.init_seed": 2})
    assert not np.array_equal(a.theta, e.theta)


def test_views_cover_theta_without_copies(mzi_cfg):
    m = zoptic.Model(mzi_cfg)
    total = 0
    for name, v in m.views.items():
        assert np.shares_memory(v, m.theta), name
        total += v.size
    assert total == m.n_params
    x = zoptic.load_data(mzi_cfg)[1].inputs[:7]
    y0 = m.forward(x)
    name = next(iter(m.views))
    m.views[name][...] += 0.5  # writes the model's own theta
    assert m.theta[0] != 0 and not np.array_equal(y0, m.forward(x))
    m.views[name][...] -= 0.5


def test_forward_matches_zoptic_eval_outputs(mzi_cfg, tmp_path, zoptic_bin):
    """The checkpoint of a `zoptic train` run: theta as stored in the HDF5
    file (read with h5py), and the forward on the test set equal to the
    outputs `zoptic eval --outputs` writes (%.9g round-trips float32)."""
    ini = tmp_path / "run.ini"
    ini.write_text(config_text(mzi_cfg))
    run = tmp_path / "run"
    subprocess.run([zoptic_bin, "train", str(ini), "--out", str(run)], check=True,
                   capture_output=True)
    ck = run / "ckpt.h5"
    m = zoptic.Model.from_checkpoint(ck)
    with h5py.File(ck, "r") as f:
        assert f.attrs["format"] in (b"zoptic-checkpoint", "zoptic-checkpoint")
        assert np.array_equal(m.theta, f["theta"][...])
    assert not np.array_equal(m.theta, zoptic.Model(mzi_cfg).theta)  # trained
    csv = tmp_path / "out.csv"
    subprocess.run([zoptic_bin, "eval", str(ck), "--outputs", str(csv)], check=True,
                   capture_output=True)
    ref = np.loadtxt(csv, delimiter=",", skiprows=1)[:, 1:11].astype(np.float32)
    test = zoptic.load_data(mzi_cfg)[1]
    assert np.array_equal(m.forward(test.inputs), ref)
    # a shaped batch (samples x 8 x 8) is the same as flat rows
    assert np.array_equal(m.forward(test.inputs.reshape(-1, 8, 8)), ref)
    # a smaller batch: the MZI layers choose their kernel (matrix or sweep)
    # by batch size (docs/mzi.md), so rows agree to float32 rounding only
    np.testing.assert_allclose(m.forward(test.inputs[:13]), ref[:13], rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("model,data", [
    ({"kind": "mzi-classifier"}, {"task": "digits"}),
    ({"kind": "mzi-equalizer"}, {"task": "equalization-isi", "n_train": 200, "n_test": 100}),
    ({"kind": "mzi-rnn"}, {"task": "copying", "copy_delay": 5, "n_train": 20, "n_test": 10}),
    ({"kind": "mixer"}, {"task": "digits"}),
    ({"kind": "cnn", "kernel": 1, "channels": 2, "channels2": 3, "width": 8},
     {"task": "digits"})])
def test_the_cli_builders(model, data, digits):
    d = dict(data, batch=10)
    if d["task"] == "digits":
        d["path"] = digits
    m = zoptic.Model({"data": d, "model": model, "train": {"budget": 10}})
    assert sum(v.size for v in m.views.values()) == m.n_params > 0
    x = np.zeros((3, m.input_size), np.float32)
    assert m.forward(x).shape == (3, m.output_size)
    assert np.isfinite(m.forward(x)).all()


def test_errors_carry_the_c_message(mzi_cfg, tmp_path):
    with pytest.raises(zoptic.ZopticValueError, match=r"\[model\] K = '-3'"):
        zoptic.Model(mzi_cfg, {"model.K": -3})
    with pytest.raises(zoptic.ZopticValueError, match="no_such_key"):
        zoptic.Model(mzi_cfg, {"model.no_such_key": 1})
    bad = dict(mzi_cfg, data=dict(mzi_cfg["data"], path=str(tmp_path / "nope.csv")))
    with pytest.raises(zoptic.ZopticIOError, match="nope.csv") as ei:
        zoptic.Model(bad)
    assert ei.value.code in ("EIO", "ENOTFOUND")
    with pytest.raises(zoptic.ZopticIOError, match="missing.h5"):
        zoptic.Model.from_checkpoint(tmp_path / "missing.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5" * 10)
    with pytest.raises(zoptic.ZopticError, match="junk.h5"):
        zoptic.Model.from_checkpoint(junk)
    with pytest.raises(TypeError, match="config"):
        zoptic.Model(42)


def test_forward_refuses_wrong_shapes_and_dtypes(mzi_cfg):
    m = zoptic.Model(mzi_cfg)
    with pytest.raises(ValueError, match=r"expected \(batch, 64\)"):
        m.forward(np.zeros((3, 63), np.float32))
    with pytest.raises(ValueError, match=r"expected \(batch, 64\)"):
        m.forward(np.zeros(64, np.float32))
    with pytest.raises(TypeError, match="complex"):
        m.forward(np.zeros((3, 64), np.complex64))
    with pytest.raises(TypeError, match="int64"):
        m.forward(np.zeros((3, 64), np.int64))
    with pytest.raises(ValueError, match="theta"):
        m.forward(np.zeros((3, 64), np.float32), theta=np.zeros(5, np.float32))
    # float64 input is converted, not refused
    x = np.random.default_rng(0).random((4, 64))
    assert np.array_equal(m.forward(x), m.forward(x.astype(np.float32)))
    assert m.forward(np.zeros((0, 64), np.float32)).shape == (0, 10)


def test_config_data_paths_follow_zoptic_train(tmp_path, monkeypatch):
    """Config makes the data paths absolute by the C rules of `zoptic train`
    (src/io/datapaths.c): keys written in the config file against its
    folder (data.test_path too), overrides against the working directory,
    an empty data.path as the task's default under datasets/."""
    sub = tmp_path / "exp"
    sub.mkdir()
    (sub / "test.idx").write_bytes(b"")
    ini = sub / "run.ini"
    ini.write_text("[data]\ntask = idx\npath = imgs\ntest_path = test.idx\n")
    monkeypatch.chdir(tmp_path)
    cwd = os.path.realpath(tmp_path)
    c = zoptic.model.Config(str(ini), {"data.labels": "labs"})
    assert c.get("data.test_path") == os.path.realpath(sub / "test.idx")
    assert c.get("data.path") == os.path.join(os.path.realpath(sub), "imgs")
    assert c.get("data.labels") == os.path.join(cwd, "labs")
    d = zoptic.model.Config("[data]\ntask = digits\n")
    assert d.get("data.path") == os.path.join(cwd, "datasets/digits/digits.csv.gz")
