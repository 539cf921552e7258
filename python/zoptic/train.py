"""The zeroth-order trainer (ZO-I, ZO-co, ZO-NP: src/zo) from Python, over a
zoptic model, a chip driver or any Python callable, and training runs that
`zoptic train --resume` continues (and the other way round)."""
import math
import os
import time

import numpy as np

from ._lib import (ffi, lib, check, error, cstr, float_view, as_floats, fptr,
                   SIZE_T, SIZE_DTYPE, BudgetExhausted, BackendError, ZopticValueError,
                   OK, EINVAL, EBACKEND, EBUDGET)
from .model import Config, BlackBox, Loss, Model, ModelBox, ChipBox, load_data


class Variations:
    """The parameter settings of one black-box call, as the C core describes
    them (core/variation.h), without a copy of theta per setting:

        theta_v[k] = theta[k] + scale[v] * delta[v][k - offset[v]]
                     for offset[v] <= k < offset[v] + length[v], else theta[k]

    .theta (N,), .offset / .length (V,) integers, .scale (V,) float32 and
    .delta (a list of V float32 arrays, empty for the base point) are views
    of the C arrays, valid only during the call.  .first_query is the global
    index of the first setting (read-out noise of a reproducible box)."""

    def __init__(self, theta, offset, length, scale, delta, first_query):
        self.theta, self.offset, self.length = theta, offset, length
        self.scale, self.delta, self.first_query = scale, delta, first_query

    def __len__(self):
        return len(self.offset)

    def apply(self, v, out=None):
        """theta_v as a new float32 array (or into out), with the C core's
        float32 arithmetic (theta + scale * delta, no fused multiply-add)."""
        if out is None:
            out = self.theta.copy()
        else:
            np.copyto(out, self.theta)
        o, n = int(self.offset[v]), int(self.length[v])
        if n:
            out[o:o + n] = self.theta[o:o + n] + self.scale[v] * self.delta[v]
        return out

    def dense(self):
        """All V settings as a V x N float32 matrix (materialised: use only
        when the box needs it)."""
        out = np.empty((len(self), len(self.theta)), np.float32)
        for v in range(len(self)):
            self.apply(v, out[v])
        return out

    def as_tuples(self):
        return [(int(self.offset[v]), float(self.scale[v]), self.delta[v])
                for v in range(len(self))]


def _sized(ptr, n, dtype):
    if n == 0:
        return np.zeros(0, dtype)
    return np.frombuffer(ffi.buffer(ptr, n * np.dtype(dtype).itemsize), dtype)


class CallableBox(BlackBox):
    """A Python callable as a zoptic black box:

        f(theta, variations, inputs) -> outputs

    theta: the base point (N float32, read-only), variations: a Variations
    object (V settings), inputs: batch x input_size float32; outputs must
    be V x batch x output_size real numbers (converted to float32).  An
    exception raised by f fails the C call with EBACKEND and its message;
    the Trainer re-raises it as BackendError with the exception as cause
    (KeyboardInterrupt and SystemExit are re-raised as they are)."""

    def __init__(self, fn, n_params, input_size, output_size, max_batch=0,
                 max_vars=0, name=None):
        if not callable(fn):
            raise TypeError("CallableBox: %r is not callable" % (fn,))
        self.fn, self.exc = fn, None
        self.calls = 0
        self._cb = ffi.callback("zpt_vars_query_fn", self._query)
        bb = ffi.new("zpt_blackbox *[1]")
        label = name or getattr(fn, "__name__", "python")
        check(lib.zpt_blackbox_vars_callback(bb, cstr(label), n_params, input_size, output_size,
                                        max_batch, max_vars, self._cb, ffi.NULL))
        self._bb = ffi.gc(bb[0], lib.zpt_api_blackbox_free)
        self.n_params, self.input_size, self.output_size = n_params, input_size, output_size

    def _query(self, user, theta, n_params, n_vars, offsets, lens, scales, deltas,
               inputs, batch, outputs, first_query):
        try:
            th = float_view(theta, n_params, None, False)
            ln = _sized(lens, n_vars, SIZE_DTYPE)
            dl = [float_view(deltas[v], int(ln[v]), None, False) for v in range(n_vars)]
            var = Variations(th, _sized(offsets, n_vars, SIZE_DTYPE), ln,
                             _sized(scales, n_vars, np.float32), dl, first_query)
            x = float_view(inputs, (batch, self.input_size), None, False)
            self.calls += 1
            y = self.fn(th, var, x)
            want = (n_vars, batch, self.output_size)
            y = np.asarray(y)
            if y.dtype.kind not in "fiu":
                raise TypeError("the callable returned dtype %s: expected real numbers "
                                "(float32)" % y.dtype)
            if y.shape != want:
                raise ValueError("the callable returned shape %s: expected %s "
                                 "(variations, batch, outputs)" % (y.shape, want))
            out = float_view(outputs, want, None, True)
            out[...] = y
            return OK
        except BaseException as e:  # noqa: everything goes back through C
            self.exc = e
            lib.zpt_api_fail(EBACKEND, cstr("%s: %s" % (type(e).__name__, e)))
            return EBACKEND

    def reraise(self, status, context=None):
        """Raises the error of a failed call, chaining the callable's
        exception when it was the cause."""
        exc, self.exc = self.exc, None
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        err = error(status, context)
        if exc is not None:
            raise err from exc
        raise err


def _box_of(box, n_params=None):
    if isinstance(box, BlackBox):
        return box
    if isinstance(box, Model):
        return box.box()
    raise TypeError("box: %s: expected a zoptic.Model or a BlackBox (ModelBox, "
                    "ChipBox, CallableBox)" % type(box).__name__)


_COUNTERS = ("iterations", "queries", "base_queries", "perturbed_queries",
             "jacobian_queries", "sample_forwards", "eval_queries",
             "eval_sample_forwards", "fisher_updates", "fisher_blocks",
             "chol_jitters", "perturbations")


class Trainer:
    """The C trainer over a black box.

        Trainer(box, theta0=None, loss=None, zo=None, budget=0)

    box: a Model (trained through its simulated backend with the model's
    read-out noise), a BlackBox (ModelBox, ChipBox, CallableBox), or a
    callable f(theta, variations, inputs) with `n_params`, `input_size`,
    `output_size` given as keywords.  theta0: the start (default: the
    model's theta; required for other boxes).  loss: a Loss (default: the
    model's).  zo: the [zo] keys as a dict ({"method": "zo-i", "Q": 10,
    "lr": 1e-3, ...}: docs/config.md) or a Config; budget: training queries
    allowed (0 = unlimited), counted exactly as in C.

    step(x, y) runs one iteration and returns (loss, queries); it raises
    BudgetExhausted, spending nothing, when the iteration would exceed the
    budget.  theta and gradient are read-only views of the trainer's
    memory; set_theta() replaces theta."""

    def __init__(self, box, theta0=None, loss=None, zo=None, budget=None,
                 n_params=None, input_size=None, output_size=None, n_max=None):
        self.model = box if isinstance(box, Model) else getattr(box, "model", None)
        if callable(box) and not isinstance(box, (BlackBox, Model)):
            if None in (n_params, input_size, output_size):
                raise TypeError("Trainer over a callable: give n_params, input_size "
                                "and output_size")
            box = CallableBox(box, n_params, input_size, output_size)
        self.box = _box_of(box)
        if loss is None:
            if self.model is None:
                raise TypeError("Trainer: give a loss (zoptic.Loss.xent(n) or .mse())")
            loss = self.model.loss
        self.loss = loss
        n = self.box.n_params
        if theta0 is None:
            if self.model is None:
                raise TypeError("Trainer: give theta0 (%d values)" % n)
            theta0 = self.model.theta
        th = as_floats(theta0, "theta0", (n,))
        self._theta0 = th  # kept alive: a trainer may keep using the caller's theta
        if isinstance(zo, Config):
            cfg = zo
        else:  # train.budget must be set; the budget argument replaces it
            cfg = Config({"zo": dict(zo or {}), "train": {"budget": 1}})
            budget = 0 if budget is None else budget
        if budget is not None and (not isinstance(budget, (int, np.integer)) or budget < 0):
            raise ValueError("budget = %r: expected an integer >= 0 (0 = unlimited)"
                             % (budget,))
        if n_max is None:
            n_max = self.model.n_max if self.model is not None else 0
        self.config = cfg
        t = ffi.new("zpt_trainer *[1]")
        self._call(lib.zpt_api_trainer_alloc(cfg._c, self.box._bb, fptr(th), *loss.args(),
                                             n_max, -1 if budget is None else budget, t),
                   "trainer")
        self._t = ffi.gc(t[0], lib.zpt_trainer_free)
        self.n_params = n
        self.target_size = loss.target_size(self.box.output_size)
        self._out = [ffi.new("double[1]"), ffi.new("uint64_t[1]"), ffi.new("int[1]")]

    def _call(self, status, context=None):
        if status == OK:
            return
        if isinstance(self.box, CallableBox):
            self.box.reraise(status, context)
        check(status, context)

    def _batch(self, inputs, targets):
        x = as_floats(inputs, "inputs", (-1, self.box.input_size))
        y = as_floats(targets, "targets", (x.shape[0], self.target_size), allow_int=True)
        return x, y

    def step(self, inputs, targets):
        """One iteration on a mini-batch: returns (train loss, queries)."""
        x, y = self._batch(inputs, targets)
        loss, q, fu = self._out
        self._call(lib.zpt_api_trainer_iterate(self._t, fptr(x), fptr(y), x.shape[0],
                                               loss, q, fu))
        return loss[0], q[0]

    def next_cost(self):
        """Queries the next iteration will use."""
        return lib.zpt_trainer_next_cost(self._t)

    @property
    def budget(self):
        return lib.zpt_api_trainer_budget(self._t)

    @property
    def theta(self):
        return float_view(lib.zpt_trainer_theta(self._t), self.n_params, self, False)

    @property
    def gradient(self):
        """The gradient estimate of the last iteration."""
        return float_view(lib.zpt_trainer_gradient(self._t), self.n_params, self, False)

    def set_theta(self, theta):
        lib.zpt_trainer_set_theta(self._t, fptr(as_floats(theta, "theta",
                                                          (self.n_params,))))

    @property
    def lr(self):
        return lib.zpt_trainer_lr(self._t)

    @property
    def counters(self):
        """The trainer's query accounting (zpt_zo_counters) as a dict."""
        u, s = ffi.new("uint64_t[12]"), ffi.new("double[2]")
        lib.zpt_api_trainer_counters(self._t, u, s)
        d = {k: u[i] for i, k in enumerate(_COUNTERS)}
        d["iter_seconds"], d["fisher_seconds"] = s[0], s[1]
        return d

    def evaluate(self, inputs, targets, batch=256, theta=None, first_query=None):
        """(mean loss, accuracy) of theta (default: the trainer's) over a
        data set; evaluation queries are outside the budget."""
        x, y = self._batch(inputs, targets)
        th = self.theta if theta is None else as_floats(theta, "theta", (self.n_params,))
        loss, acc, q = ffi.new("double[1]"), ffi.new("double[1]"), ffi.new("uint64_t[1]")
        fq = lib.zpt_api_eval_query_base() if first_query is None else first_query
        self._call(lib.zpt_api_evaluate(self.box._bb, fptr(th), *self.loss.args(), fptr(x),
                                        fptr(y), x.shape[0], batch, fq, loss, acc, q))
        return loss[0], acc[0]

    def save(self, path, config_text=None):
        """A checkpoint (docs/checkpoint.md): theta (the model's views, or
        one view "theta" for other boxes) and the trainer's state under zo/."""
        def fill(w):
            check(lib.zpt_trainer_save(self._t, lib.zpt_ckpt_state_writer(w)))
        _write_ckpt(path, config_text or self.config.text(), self._params(), fill)

    def load(self, path):
        """Restores theta and the trainer's state from a checkpoint written
        by save() (or by zoptic train for the same model and [zo])."""
        r = _open_ckpt(path)
        p = self._params()
        check(lib.zpt_ckpt_get_params(r, p), os.fspath(path))
        check(lib.zpt_trainer_load(self._t, lib.zpt_ckpt_state_reader(r)), os.fspath(path))

    def _params(self):
        """The parameter store written to checkpoints, holding theta."""
        if self.model is not None:
            lib.zpt_api_trainer_copy_theta(self._t, lib.zpt_api_params_theta(self.model._p))
            return self.model._p
        p = ffi.gc(lib.zpt_params_alloc(), lib.zpt_params_free)
        check(lib.zpt_params_add(p, b"theta", 1, ffi.new("size_t[1]", [self.n_params]),
                                 ffi.NULL))
        lib.zpt_api_trainer_copy_theta(self._t, lib.zpt_api_params_theta(p))
        self._store = p
        return p


def _write_ckpt(path, config_text, params, fill):
    w = ffi.new("zpt_ckpt_writer *[1]")
    check(lib.zpt_ckpt_create(cstr(os.fspath(path)), cstr(config_text), w))
    try:
        check(lib.zpt_ckpt_put_params(w[0], params))
        fill(w[0])
    except BaseException:
        lib.zpt_ckpt_abort(w[0])
        raise
    check(lib.zpt_ckpt_commit(w[0]))


def _open_ckpt(path):
    r = ffi.new("zpt_ckpt_reader *[1]")
    check(lib.zpt_ckpt_open(cstr(os.fspath(path)), r))
    return ffi.gc(r[0], lib.zpt_ckpt_close)




__all__ = ["Variations", "CallableBox", "Trainer", "BudgetExhausted",
           "BackendError"]
