"""PyTorch: an nn.Module's forward as a zoptic black box over its flattened
parameters, and a torch.optim-style zeroth-order optimizer.

    import zoptic.torch as zt
    opt = zt.ZOOptimizer(net, zo={"method": "zo-np", "lr": 1e-3}, budget=10**6)
    for x, y in loader:
        loss = opt.step(x, y)        # no backward(): Q+1 forwards under no_grad

The parameters (module.parameters() order, each flattened row-major) are
moved into ONE flat float32 buffer that the module's tensors view, so
loading theta is one copy and a perturbation touches only its range.
"""
import io
import os
import tempfile
import warnings

import numpy as np
import torch

from ._lib import as_floats
from .model import Loss
from .train import CallableBox, Trainer


def flatten_parameters(module):
    """Moves the module's float32 parameters into one contiguous buffer and
    returns it (its parameters then view the buffer)."""
    params = [p for p in module.parameters()]
    if not params:
        raise ValueError("flatten_parameters: the module has no parameters")
    for p in params:
        if p.dtype != torch.float32:
            raise TypeError("parameter of dtype %s: zoptic trains float32 parameters "
                            "(call module.float())" % p.dtype)
    n = sum(p.numel() for p in params)
    flat = torch.empty(n, dtype=torch.float32)
    o = 0
    with torch.no_grad():
        for p in params:
            k = p.numel()
            flat[o:o + k].copy_(p.reshape(-1))
            p.data = flat[o:o + k].view_as(p)
            o += k
    return flat


# The arrays the C core hands over are read-only views (theta, deltas,
# inputs); the box never writes through the tensors made from them.
_READONLY = "The given NumPy array is not writable"


def _tensor(a):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_READONLY, category=UserWarning)
        return torch.from_numpy(a)


class TorchBox(CallableBox):
    """module(x) as a black box: theta = the flattened parameters.  Inputs
    arrive as batch x prod(input_shape) floats and are viewed as
    (batch, *input_shape); the module must return batch x output_size.
    Each setting theta_v is made in place on the flat buffer (the base
    theta, then base + scale * delta on the variation's range only, then the
    range restored), and evaluated under torch.no_grad()."""

    def __init__(self, module, input_shape, output_size=None, max_vars=0):
        self.module = module
        self.flat = flatten_parameters(module)
        self.input_shape = tuple(input_shape)
        in_size = int(np.prod(self.input_shape))
        if output_size is None:
            with torch.no_grad():
                output_size = int(np.prod(module(torch.zeros((1,) + self.input_shape)).shape[1:]))
        self._loaded = None
        super().__init__(self._forward, self.flat.numel(), in_size, output_size,
                         max_vars=max_vars, name=type(module).__name__)

    def _forward(self, theta, var, x):
        flat = self.flat
        base = _tensor(theta)
        with torch.no_grad():
            flat.copy_(base)
            xt = _tensor(x).view((x.shape[0],) + self.input_shape)
            out = np.empty((len(var), x.shape[0], self.output_size), np.float32)
            for v in range(len(var)):
                o, n = int(var.offset[v]), int(var.length[v])
                if n:  # theta + scale * delta in float32, as the C core does
                    d = _tensor(var.delta[v]) * float(var.scale[v])
                    flat[o:o + n] = base[o:o + n] + d
                y = self.module(xt)
                out[v] = y.reshape(x.shape[0], -1).numpy()
                if n:
                    flat[o:o + n] = base[o:o + n]
        return out


def _loss_of(loss, output_size):
    if isinstance(loss, Loss):
        return loss
    if loss in (None, "xent", "cross_entropy"):
        return Loss.xent(output_size)
    if loss == "mse":
        return Loss.mse()
    raise ValueError("loss = %r: expected 'xent', 'mse' or a zoptic.Loss" % (loss,))


def _numpy(a, name, allow_int=False):
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return as_floats(a, name, allow_int=allow_int)


class ZOOptimizer:
    """Zeroth-order training of a PyTorch module with zoptic's trainer, in a
    torch.optim-like interface.

    ZOOptimizer(module, input_shape=None, loss="xent", zo=None, budget=0)
      input_shape: per-sample input shape (default: taken from the first
      batch); loss: "xent" (targets are class indices), "mse" or a
      zoptic.Loss; zo: the [zo] keys (method zo-i / zo-co / zo-np /
      zo-sparse / zo-guided / zo-adapt / cmaes, Q, mu, lr, ...); budget:
      training queries (0 = unlimited).

    step(inputs, targets) runs one iteration (Q+1 forwards of the module,
    no backward) and returns the mini-batch loss; the module's parameters
    hold the new theta afterwards.  Unlike torch.optim, the step needs the
    batch itself (there is no gradient to read); zero_grad() exists only so
    that existing loops run unchanged.  state_dict()/load_state_dict()
    carry the complete trainer state (optimizer moments, Fisher blocks,
    counters: a zoptic checkpoint's bytes), so a resumed loop continues
    bit-identically."""

    def __init__(self, module, input_shape=None, loss="xent", zo=None, budget=0,
                 output_size=None):
        self.module, self._loss, self._zo = module, loss, dict(zo or {})
        self._budget, self._output_size = budget, output_size
        self.trainer = None
        self.param_groups = [{"params": list(module.parameters())}]
        if input_shape is not None:
            self._build(tuple(input_shape))

    def _build(self, input_shape):
        self.box = TorchBox(self.module, input_shape, self._output_size)
        self.loss = _loss_of(self._loss, self.box.output_size)
        self.trainer = Trainer(self.box, theta0=self.box.flat.numpy(), loss=self.loss,
                               zo=self._zo, budget=self._budget)

    def _sync(self):
        with torch.no_grad():
            self.box.flat.copy_(torch.from_numpy(self.trainer.theta.copy()))

    def step(self, inputs, targets):
        x = _numpy(inputs, "inputs")
        if self.trainer is None:
            self._build(x.shape[1:])
        x = x.reshape(x.shape[0], -1)
        y = _numpy(targets, "targets", allow_int=True)
        y = y.reshape(y.shape[0], -1) if y.ndim != 2 else y
        loss, _ = self.trainer.step(x, y)
        self._sync()
        return loss

    def zero_grad(self, set_to_none=True):
        """Nothing to clear: zeroth-order steps compute no gradients."""

    @property
    def exhausted(self):
        """True when the next step would exceed the budget (step() would
        raise zoptic.BudgetExhausted)."""
        t = self.trainer
        return t is not None and t.budget > 0 and \
            t.next_cost() > t.budget - t.counters["queries"]

    @property
    def queries(self):
        return self.trainer.counters["queries"] if self.trainer else 0

    def state_dict(self):
        if self.trainer is None:
            raise RuntimeError("state_dict: no step yet (the input shape is unknown)")
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "zo.h5")
            self.trainer.save(p)
            with open(p, "rb") as f:
                blob = f.read()
        return {"zoptic_checkpoint": blob, "input_shape": self.box.input_shape,
                "zo": dict(self._zo), "budget": self._budget}

    def load_state_dict(self, state):
        if self.trainer is None:
            self._build(tuple(state["input_shape"]))
        if tuple(state["input_shape"]) != self.box.input_shape:
            raise ValueError("load_state_dict: input_shape %s, this optimizer has %s"
                             % (tuple(state["input_shape"]), self.box.input_shape))
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "zo.h5")
            with open(p, "wb") as f:
                f.write(state["zoptic_checkpoint"])
            self.trainer.load(p)
        self._sync()
