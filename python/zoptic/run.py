"""A training run exactly as `zoptic train` runs it (src/cli/train.c and
src/cli/task.c): the same configuration, data, batches, backend, trainer,
evaluation schedule, run directory (config.ini, log.csv, ckpt.h5) and
checkpoint contents, so that a run started here resumes with
`zoptic train --resume DIR` and a run of `zoptic train` resumes here."""
import math
import os
import time

import numpy as np

from ._lib import ffi, lib, check, cstr, pystr, fptr, ZopticValueError, EINVAL
from .model import Config, Model, ChipBox, load_data

# Checkpoint items of the CLI's loop (src/cli/train.c) and task (task.c).
_RUN_U64 = ("run/iteration", "run/queries", "run/sample_forwards", "run/loss_count")
_RUN_F64 = ("run/seconds", "run/loss_sum", "run/test_loss", "run/test_metric")
_BATCHER = b"task/batcher"
EVAL_CHUNK = 256


class Run:
    """Run(config, overrides=None, out=DIR): a new run (the configuration is
    that of `zoptic train CONFIG --set ... --out DIR`); Run.resume(DIR) an
    interrupted one.  train() runs until the budget is spent (or
    max_iterations more iterations, then writes a checkpoint); .trainer,
    .model, .train_set, .test_set and .counters are available throughout."""

    def __init__(self, config, overrides=None, out=None, _resume_text=None):
        self.cfg = Config(_resume_text if _resume_text is not None else config, overrides,
                          origin="config" if _resume_text is None else "checkpoint")
        self.cfg.check_required()
        if out is None:
            out = self.cfg.get("output.dir") or None
        if out is None:
            raise ValueError("Run: give out=DIR (or output.dir) for the run directory")
        self.dir = os.fspath(out)
        self.ckpt = os.path.join(self.dir, "ckpt.h5")
        if _resume_text is None:  # as zoptic train --out DIR records it
            self.cfg.set("output.dir", os.path.abspath(self.dir), "run directory")
        self._build()
        self._log = None
        self.counters = dict(iteration=0, queries=0, sample_forwards=0, seconds=0.0,
                             loss_sum=0.0, loss_count=0, test_loss=math.nan,
                             test_metric=math.nan)
        if _resume_text is None:
            check(lib.zpt_rundir_create(cstr(self.dir)))
            check(lib.zpt_rundir_write_config(cstr(self.dir), self.cfg._c))
            log = ffi.new("zpt_runlog *[1]")
            check(lib.zpt_runlog_create(cstr(self.dir), log))
            self._log = ffi.gc(log[0], lib.zpt_runlog_close)

    def _build(self):
        cfg = self.cfg
        self.train_set, self.test_set = load_data(cfg)
        self.model = Model(cfg, data=(self.train_set, self.test_set))
        if cfg.get("train.metric") == "auto":
            # as zoptic train: the task's metric becomes part of the config
            cfg.set("train.metric", self.model.metric, "task default")
        self.config_text = cfg.text()
        self.metric = cfg.get("train.metric")
        if self.metric == "relative_loss" and not self.test_set.baseline_loss > 0:
            raise ZopticValueError(EINVAL, "train.metric = relative_loss needs a task "
                                   "with a memoryless baseline (data.task = copying); "
                                   "%s has none" % self.test_set.name)
        batch = cfg.get("data.batch")
        if batch > self.train_set.n:
            raise ZopticValueError(EINVAL, "data.batch = %d exceeds the %d training "
                                   "samples of %s" % (batch, self.train_set.n,
                                                      self.train_set.name))
        self.batch = batch
        b = ffi.new("zpt_batcher *[1]")
        check(lib.zpt_api_batcher_alloc(b, self.train_set.n, batch, cfg.get("data.seed"),
                                        cfg.get("data.shuffle"), cfg.get("data.drop_last")))
        self._batcher = ffi.gc(b[0], lib.zpt_batcher_free)
        self.box = self._backend()
        from .train import Trainer
        self.trainer = Trainer(self.box, theta0=self.model.theta, loss=self.model.loss,
                               zo=cfg, n_max=self.model.n_max)
        self.trainer.model = self.model
        self._x = np.empty((batch, self.train_set.input_size), np.float32)
        self._y = np.empty((batch, self.train_set.target_size), np.float32)

    def _backend(self):
        driver, sock = self.cfg.get("chip.driver"), self.cfg.get("chip.socket")
        if driver and sock:
            raise ZopticValueError(EINVAL, "chip.driver = %s and chip.socket = %s: set "
                                   "one of them" % (driver, sock))
        if not driver and not sock:
            return self.model.box(noise=True)
        m = self.model
        return ChipBox("unix:" + sock if sock else driver, self.cfg.get("chip.timeout_s"),
                       self.cfg.get("chip.retries"), m.n_params, m.input_size,
                       m.output_size)

    @classmethod
    def resume(cls, run_dir, budget=None):
        """The run in run_dir, continued from its checkpoint (written by
        `zoptic train` or by Run).  budget: a new train.budget (extends a
        finished run; with the constant learning rate the continuation is
        then the same as one run with that budget)."""
        ckpt = os.path.join(os.fspath(run_dir), "ckpt.h5")
        from .train import _open_ckpt
        r = _open_ckpt(ckpt)
        text = ffi.new("char *[1]")
        check(lib.zpt_ckpt_attr_text(r, b"config", text), ckpt)
        try:
            ini = ffi.string(text[0]).decode()
        finally:
            lib.zpt_free(text[0])
        overrides = {"train.budget": budget} if budget is not None else None
        self = cls(None, overrides, out=run_dir, _resume_text=ini)
        check(lib.zpt_ckpt_get_params(r, self.model._p), ckpt)
        sr = lib.zpt_ckpt_state_reader(r)
        c = self.counters
        for name in _RUN_U64 + _RUN_F64:
            v = ffi.new("uint64_t[1]" if name in _RUN_U64 else "double[1]")
            check(lib.zpt_api_state_get(sr, cstr(name), 3 if name in _RUN_U64 else 2, v, 1),
                  ckpt)
            c[name[4:]] = v[0]
        # theta's one home is the checkpoint's /theta (format 2): hand it to the
        # trainer before its state (which no longer carries a copy)
        lib.zpt_trainer_set_theta(self.trainer._t, lib.zpt_api_params_theta(self.model._p))
        check(lib.zpt_trainer_load(self.trainer._t, sr), ckpt)
        check(lib.zpt_batcher_restore(self._batcher, sr, _BATCHER), ckpt)
        self._sync()
        log = ffi.new("zpt_runlog *[1]")
        check(lib.zpt_runlog_resume(cstr(self.dir), c["iteration"], log))
        self._log = ffi.gc(log[0], lib.zpt_runlog_close)
        return self

    def _sync(self):
        lib.zpt_api_trainer_copy_theta(self.trainer._t,
                                       lib.zpt_api_params_theta(self.model._p))

    def save(self, seconds=None):
        """Writes DIR/ckpt.h5 as zoptic train does."""
        c = self.counters
        sec = c["seconds"] if seconds is None else seconds

        def fill(w):
            sw = lib.zpt_ckpt_state_writer(w)
            for name in _RUN_U64 + _RUN_F64:
                u = name in _RUN_U64
                val = sec if name == "run/seconds" else c[name[4:]]
                v = ffi.new("uint64_t[1]" if u else "double[1]", [val])
                check(lib.zpt_api_state_put(sw, cstr(name), 3 if u else 2, v, 1))
            check(lib.zpt_trainer_save(self.trainer._t, sw))
            check(lib.zpt_batcher_save(self._batcher, sw, _BATCHER))
        from .train import _write_ckpt
        self._sync()
        _write_ckpt(self.ckpt, self.config_text, self.model._p, fill)

    def step(self, queries_left):
        """One training iteration (None when it would exceed queries_left)."""
        if self.trainer.next_cost() > queries_left:
            return None
        idx = ffi.new("const size_t *[1]")
        n = lib.zpt_batcher_next(self._batcher, idx)
        x, y = self._x[:n], self._y[:n]
        check(lib.zpt_batch_gather(self.train_set._d, idx[0], n, fptr(x), fptr(y)))
        loss, q = self.trainer.step(x, y)
        self._sync()
        return loss, q, q * n

    def evaluate(self, max_samples=0):
        """(test loss, metric) of the current theta, as zoptic train logs."""
        n = self.test_set.n if not max_samples else min(max_samples, self.test_set.n)
        loss, acc = self.trainer.evaluate(self.test_set.inputs[:n], self.test_set.targets[:n],
                                          batch=EVAL_CHUNK, theta=self.model.theta)
        metric = {"accuracy": acc, "ser": 1.0 - acc}.get(
            self.metric, loss / self.test_set.baseline_loss if self.test_set.baseline_loss
            else math.nan)
        return loss, metric

    def _eval_and_log(self, elapsed):
        c = self.counters
        loss, metric = self.evaluate(self.cfg.get("train.eval_batch"))
        check(lib.zpt_api_runlog_append(self._log, c["iteration"], c["queries"],
                                        c["sample_forwards"], c["seconds"] + elapsed,
                                        c["loss_sum"] / c["loss_count"], loss, metric))
        c["loss_sum"], c["loss_count"] = 0.0, 0
        c["test_loss"], c["test_metric"] = loss, metric

    def train(self, max_iterations=None):
        """Trains until train.budget is spent (then writes the final
        checkpoint) or for at most max_iterations more iterations (then
        writes a checkpoint that either program resumes).  Returns the
        counters."""
        cfg, c = self.cfg, self.counters
        budget = cfg.get("train.budget")
        eval_every, ckpt_every = cfg.get("train.eval_every"), cfg.get("train.checkpoint_every")
        t0, done_iters = time.monotonic(), 0
        while c["queries"] < budget:
            if max_iterations is not None and done_iters >= max_iterations:
                break
            r = self.step(budget - c["queries"])
            if r is None:
                if c["loss_count"] > 0:
                    self._eval_and_log(time.monotonic() - t0)
                break
            loss, q, sf = r
            done_iters += 1
            c["iteration"] += 1
            c["queries"] += q
            c["sample_forwards"] += sf
            c["loss_sum"] += loss
            c["loss_count"] += 1
            done = c["queries"] >= budget
            if c["iteration"] % eval_every == 0 or done:
                self._eval_and_log(time.monotonic() - t0)
            if not done and ckpt_every > 0 and c["iteration"] % ckpt_every == 0:
                self.save(c["seconds"] + time.monotonic() - t0)
        c["seconds"] += time.monotonic() - t0
        self.save()
        return dict(c)
