"""Item 3: a PyTorch module as a black box over its flattened parameters
and a torch.optim-style ZO optimizer; a statistical test of the ZO-I
estimator against autograd's gradient."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import zoptic  # noqa: E402
import zoptic.torch as zt  # noqa: E402


def mlp(seed=0, d_in=4, hidden=5, d_out=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, d_out))


def data(n=32, d_in=4, classes=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d_in)).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.float32)
    return x, y


def test_box_equals_the_module_and_touches_only_the_range():
    net = mlp()
    ref = mlp()
    box = zt.TorchBox(net, (4,))
    assert box.n_params == sum(p.numel() for p in ref.parameters()) == 43
    theta = box.flat.numpy().copy()
    x, _ = data(6)
    d = np.linspace(-1, 1, 5).astype(np.float32)
    out = box.query(theta, x, [(0, 0.0, np.zeros(0, np.float32)), (20, 0.25, d)])
    with torch.no_grad():
        assert np.array_equal(out[0], ref(torch.from_numpy(x)).numpy())
        t2 = torch.from_numpy(theta.copy())
        t2[20:25] = t2[20:25] + torch.from_numpy(d) * 0.25
        torch.nn.utils.vector_to_parameters(t2, ref.parameters())
        assert np.array_equal(out[1], ref(torch.from_numpy(x)).numpy())
    # after the call the module holds the base theta (the range restored)
    assert np.array_equal(box.flat.numpy(), theta)


def test_zo_i_mean_approaches_the_true_gradient():
    """S iterations of ZO-I (all-at-once, forward differences, normalised
    u: uniform on the sphere of radius sqrt(N)) from the same theta on the
    same batch.  For that u, E[g] = grad + O(mu^2) and (linearising the
    loss, a = grad) Var(g_j) = (N/(N+2) (|a|^2 + 2 a_j^2) - a_j^2) / Q.
    The mean of S estimates must be within 5 standard errors
    sqrt(Var(g_j) / S) of autograd's gradient in every coordinate, and the
    sample variance must match the formula (fixed seed: deterministic)."""
    net = mlp(3)
    x, y = data(64)
    ref = mlp(3).double()
    xt, yt = torch.from_numpy(x).double(), torch.from_numpy(y).long()
    loss = torch.nn.functional.cross_entropy(ref(xt), yt)
    grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(ref.parameters()))]
                     ).numpy()
    Q, S = 8, 600
    opt = zt.ZOOptimizer(net, (4,), zo={"method": "zo-i", "mode": "all", "Q": Q,
                                        "mu": 1e-2, "optimizer": "sgd", "lr": 1e-9, "seed": 7})
    theta0 = opt.box.flat.numpy().copy()
    gs = np.empty((S, theta0.size))
    for s in range(S):
        opt.trainer.set_theta(theta0)
        opt.step(x, y)
        gs[s] = opt.trainer.gradient
    n = theta0.size
    var = (n / (n + 2) * (grad @ grad + 2 * grad ** 2) - grad ** 2) / Q
    se = np.sqrt(var / S)
    z = (gs.mean(0) - grad) / se
    assert np.abs(z).max() < 5, np.abs(z).max()
    ratio = gs.var(0, ddof=1) / var
    assert 0.8 < ratio.mean() < 1.2, ratio.mean()
    # the test can fail: a gradient off by 20% is many standard errors away
    assert np.abs((gs.mean(0) - 1.2 * grad) / se).max() > 5


def test_optimizer_trains_and_state_dict_resumes_bit_identically():
    x, y = data(128, seed=4)
    xb = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 128, 32)] * 5
    zo = {"method": "zo-np", "Q": 4, "t_ud": 3, "lr": 0.02}
    net = mlp(1)
    opt = zt.ZOOptimizer(net, zo=zo)
    first = None
    for i, (a, b) in enumerate(xb[:10]):
        opt.zero_grad()
        loss = opt.step(torch.from_numpy(a), torch.from_numpy(b))
        first = loss if first is None else first
    sd = opt.state_dict()
    for a, b in xb[10:]:
        opt.step(a, b)
    net2 = mlp(9)  # other initial values: load_state_dict replaces them
    opt2 = zt.ZOOptimizer(net2, zo=zo)
    opt2.load_state_dict(sd)
    for a, b in xb[10:]:
        opt2.step(a, b)
    p1 = torch.nn.utils.parameters_to_vector(net.parameters()).detach().numpy()
    p2 = torch.nn.utils.parameters_to_vector(net2.parameters()).detach().numpy()
    assert np.array_equal(p1, p2)
    assert opt.queries == opt2.queries > 0
    with torch.no_grad():
        end = torch.nn.functional.cross_entropy(net(torch.from_numpy(x)),
                                                torch.from_numpy(y).long()).item()
        start = torch.nn.functional.cross_entropy(mlp(1)(torch.from_numpy(x)),
                                                  torch.from_numpy(y).long()).item()
    assert end < start


def test_torch_errors():
    net = mlp()
    with pytest.raises(TypeError, match="float32"):
        zt.ZOOptimizer(mlp().double(), (4,))
    opt = zt.ZOOptimizer(net, (4,), zo={"Q": 2})
    x, y = data(8)
    with pytest.raises(ValueError, match="inputs"):
        opt.step(x[:, :3], y)
    with pytest.raises(zoptic.ZopticValueError, match="target"):
        opt.step(x, y + 5)
    with pytest.raises(ValueError, match="loss"):
        zt.ZOOptimizer(mlp(), (4,), loss="hinge")

    class Broken(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(4, 3))

        def forward(self, x):
            if getattr(self, "armed", False):
                raise RuntimeError("CUDA out of memory (pretend)")
            return x @ self.w

    b = Broken()
    o = zt.ZOOptimizer(b, (4,), zo={"Q": 2})
    b.armed = True
    with pytest.raises(zoptic.BackendError, match="out of memory") as ei:
        o.step(x, y)
    assert isinstance(ei.value.__cause__, RuntimeError)
