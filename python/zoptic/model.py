"""Configurations, data sets and the paper's models (the builders of
`zoptic train`), checkpoints, and batched forwards on numpy arrays."""
import os

import numpy as np

from ._lib import (ffi, lib, check, cstr, pystr, float_view, as_floats, fptr,
                   ZopticValueError, EINVAL)


def _ini_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _config_file(config):
    """The path when `config` names an INI file, else None."""
    if isinstance(config, os.PathLike) or (
            isinstance(config, str) and "\n" not in config
            and config.endswith(".ini") and os.path.exists(config)):
        return os.fspath(config)
    return None


def config_text(config=None, overrides=None):
    """INI text from `config`: INI text, a path (os.PathLike, or a str naming
    an existing *.ini file), or a dict of "section.key" -> value or of
    section -> {key: value}; `overrides` (a dict of "section.key" -> value)
    are applied after it."""
    if config is None:
        config = {}
    if _config_file(config):
        with open(config) as f:
            text = f.read()
    elif isinstance(config, str):
        text = config
    elif isinstance(config, dict):
        sections = {}
        for k, v in config.items():
            if isinstance(v, dict):
                for kk, vv in v.items():
                    sections.setdefault(k, {})[kk] = vv
            else:
                if "." not in k:
                    raise ValueError("config key '%s': expected 'section.key' "
                                     "or a section dict" % k)
                s, kk = k.split(".", 1)
                sections.setdefault(s, {})[kk] = v
        text = "".join("[%s]\n" % s + "".join("%s = %s\n" % (k, _ini_value(v))
                                              for k, v in kv.items())
                       for s, kv in sections.items())
    else:
        raise TypeError("config: %s: expected INI text, a path or a dict"
                        % type(config).__name__)
    return text


class Config:
    """A resolved zoptic configuration (the schema of docs/config.md):
    Config(config, overrides) parses INI text / a dict / a file and applies
    the overrides; errors name the key (ZopticValueError).  As with
    `zoptic train` (the same C function, src/io/datapaths.c), the data
    paths become absolute: relative to the file's folder when written in a
    config file, else to the working directory (an empty data.path: the
    task's default under datasets/)."""

    def __init__(self, config=None, overrides=None, origin="python", _ptr=None):
        if _ptr is not None:
            self._c = _ptr
            return
        p = lib.zpt_config_alloc()
        if p == ffi.NULL:
            check(lib.zpt_error_status() or EINVAL, "config")
        self._c = ffi.gc(p, lib.zpt_config_free)
        path = _config_file(config)
        if path:
            check(lib.zpt_config_parse_file(self._c, cstr(path)))
        else:
            check(lib.zpt_config_parse_string(self._c, cstr(config_text(config)),
                                              cstr(origin)))
        for k, v in (overrides or {}).items():
            self.set(k, v)
        if origin != "checkpoint":  # the rules of src/io/datapaths.c
            check(lib.zpt_config_resolve_data_paths(self._c, cstr(path) if path
                                                    else ffi.NULL))

    def set(self, name, value, origin="python"):
        check(lib.zpt_config_set_value(self._c, cstr(name), cstr(_ini_value(value)),
                                       cstr(origin)))

    def check_required(self, origin="python"):
        check(lib.zpt_config_check_required(self._c, cstr(origin)))

    def get(self, name):
        """The value of "section.key" (str, int, float or bool by type)."""
        for fn, ctype, conv in ((lib.zpt_config_string, "const char *[1]", pystr),
                                (lib.zpt_config_bool, "int[1]", bool),
                                (lib.zpt_config_int, "long long[1]", int),
                                (lib.zpt_config_u64, "uint64_t[1]", int),
                                (lib.zpt_config_double, "double[1]", float)):
            out = ffi.new(ctype)
            if fn(self._c, cstr(name), out) == 0:
                return conv(out[0])
        lib.zpt_error_clear()
        check(lib.zpt_config_string(self._c, cstr(name), ffi.new("const char *[1]")))

    def text(self):
        """The resolved configuration as INI (every key)."""
        p = lib.zpt_config_to_string(self._c)
        if p == ffi.NULL:
            check(lib.zpt_error_status() or EINVAL, "config")
        try:
            return ffi.string(p).decode()
        finally:
            lib.zpt_free(p)


class Dataset:
    """A data set built by [data]: .inputs (n x input_size) and .targets
    (n x target_size) are float32 views of the C arrays (no copy)."""

    def __init__(self, ptr):
        self._d = ffi.gc(ptr, lib.zpt_dataset_free)
        self.name = pystr(lib.zpt_api_dataset_name(ptr))
        self.n = lib.zpt_api_dataset_n(ptr)
        self.input_size = lib.zpt_api_dataset_input_size(ptr)
        self.target_size = lib.zpt_api_dataset_target_size(ptr)
        self.n_classes = lib.zpt_api_dataset_n_classes(ptr)
        self.baseline_loss = lib.zpt_api_dataset_baseline_loss(ptr)
        self.inputs = float_view(lib.zpt_api_dataset_inputs(ptr),
                                 (self.n, self.input_size), self, False)
        self.targets = float_view(lib.zpt_api_dataset_targets(ptr),
                                  (self.n, self.target_size), self, False)

    def __len__(self):
        return self.n


def load_data(config):
    """(train, test) Datasets of the configuration's [data] section."""
    cfg = config if isinstance(config, Config) else Config(config)
    tr, te = ffi.new("zpt_dataset *[1]"), ffi.new("zpt_dataset *[1]")
    check(lib.zpt_setup_data(cfg._c, tr, te), "[data]")
    return Dataset(tr[0]), Dataset(te[0])


class Loss:
    """A loss over black-box outputs: Loss.xent(n_classes, n_steps=1,
    score_scale=1) (softmax cross-entropy; targets are class indices) or
    Loss.mse() (targets are output-sized)."""
    XENT, MSE = 1, 2

    def __init__(self, kind, n_steps=1, n_classes=0, score_scale=1.0):
        self.kind, self.n_steps, self.n_classes = kind, n_steps, n_classes
        self.score_scale = score_scale

    @classmethod
    def xent(cls, n_classes, n_steps=1, score_scale=1.0):
        return cls(cls.XENT, n_steps, n_classes, score_scale)

    @classmethod
    def mse(cls):
        return cls(cls.MSE, 0, 0, 1.0)

    def args(self):
        return (self.kind, self.n_steps, self.n_classes, self.score_scale)

    def target_size(self, output_size):
        n = lib.zpt_api_loss_target_size(*self.args(), output_size)
        if n == 0:
            check(lib.zpt_error_status() or EINVAL, "loss")
        return n

    def __repr__(self):
        if self.kind == self.MSE:
            return "Loss.mse()"
        return "Loss.xent(%d, n_steps=%d, score_scale=%g)" % (
            self.n_classes, self.n_steps, self.score_scale)


class Model:
    """One of the paper's networks, built by the same code as `zoptic train`
    ([model] and [chip] of a configuration, for data shaped like [data]).

    .theta is the flat parameter vector and .views maps each named view
    ("conv1.weight", "mesh1.phase", ...) to its shaped slice: numpy arrays
    over the model's own memory (no copy; writing them changes the model)."""

    def __init__(self, config, overrides=None, data=None):
        cfg = config if isinstance(config, Config) else Config(config, overrides)
        if isinstance(config, Config) and overrides:
            for k, v in overrides.items():
                cfg.set(k, v)
        self.config = cfg
        if data is None:
            data = load_data(cfg)
        train = data[0]
        m = ffi.new("zpt_model *[1]")
        kind, steps, classes = ffi.new("int[1]"), ffi.new("size_t[1]"), ffi.new("size_t[1]")
        scale, nmax = ffi.new("double[1]"), ffi.new("size_t[1]")
        seed, metric = ffi.new("uint64_t[1]"), ffi.new("const char *[1]")
        check(lib.zpt_api_setup_model(cfg._c, train._d, m, kind, steps, classes, scale,
                                      nmax, seed, metric), "[model]")
        self._m = ffi.gc(m[0], lib.zpt_model_free)
        self.loss = Loss(kind[0], steps[0], classes[0], scale[0])
        self.n_max = nmax[0]
        self.noise_seed = seed[0]
        self.metric = pystr(metric[0])
        self.n_params = lib.zpt_model_n_params(self._m)
        self.input_size = lib.zpt_model_input_size(self._m)
        self.output_size = lib.zpt_model_output_size(self._m)
        self._p = lib.zpt_model_params(self._m)
        self.theta = float_view(lib.zpt_api_params_theta(self._p), self.n_params, self)
        self.views = {}
        name, ndim = ffi.new("const char *[1]"), ffi.new("int[1]")
        shape, off = ffi.new("size_t[4]"), ffi.new("size_t[1]")
        for k in range(lib.zpt_api_params_n_views(self._p)):
            check(lib.zpt_api_params_view(self._p, k, name, ndim, shape, off))
            shp = tuple(shape[i] for i in range(ndim[0]))
            size = int(np.prod(shp))
            self.views[pystr(name[0])] = self.theta[off[0]:off[0] + size].reshape(shp)
        self._box = None

    @classmethod
    def from_checkpoint(cls, path):
        """The model of a checkpoint written by `zoptic train` (or by
        zoptic.Run): built from its stored configuration, theta read."""
        r = ffi.new("zpt_ckpt_reader *[1]")
        check(lib.zpt_ckpt_open(cstr(os.fspath(path)), r))
        reader = ffi.gc(r[0], lib.zpt_ckpt_close)
        text = ffi.new("char *[1]")
        check(lib.zpt_ckpt_attr_text(reader, b"config", text))
        try:
            ini = ffi.string(text[0]).decode()
        finally:
            lib.zpt_free(text[0])
        m = cls(Config(ini, origin="%s[config]" % path))
        check(lib.zpt_ckpt_get_params(reader, m._p), os.fspath(path))
        return m

    def box(self, noise=True):
        """The model as a black box (read-out noise seeded by chip.seed when
        noise is true and the chip has noise)."""
        return ModelBox(self, self.noise_seed if noise else 0)

    def init(self, seed):
        """Re-initialises theta as model.init_seed = seed would."""
        lib.zpt_model_init(self._m, seed)

    def set_threads(self, n):
        check(lib.zpt_model_set_threads(self._m, n))

    def forward(self, inputs, theta=None, query_index=None):
        """Outputs (batch x output_size, float32) of theta (default: the
        model's) on inputs (batch x input_size, or batch x any shape of
        input_size floats).  Noiseless unless query_index is given: then the
        read-out noise of that query index (as a training run would draw)."""
        x = as_floats(inputs, "inputs")
        if x.ndim == 1 or x.ndim >= 2 and int(np.prod(x.shape[1:])) != self.input_size:
            raise ValueError("inputs: shape %s: expected (batch, %d)" %
                             (x.shape, self.input_size))
        x = x.reshape(x.shape[0], self.input_size)
        th = self.theta if theta is None else as_floats(theta, "theta", (self.n_params,))
        out = np.empty((x.shape[0], self.output_size), np.float32)
        if x.shape[0] == 0:
            return out
        noisy = query_index is not None
        if noisy:
            box = self.box(noise=True)
        else:
            if self._box is None:
                self._box = self.box(noise=False)
            box = self._box
        check(lib.zpt_api_blackbox_query_base(box._bb, fptr(th), fptr(x), x.shape[0],
                                              fptr(out), query_index or 0))
        return out


class BlackBox:
    """A zoptic black box (zpt_blackbox): what a Trainer trains through.
    Subclasses: ModelBox, CallableBox (zoptic.train), ChipBox."""
    _bb = None

    def sizes(self):
        n, i, o = ffi.new("size_t[1]"), ffi.new("size_t[1]"), ffi.new("size_t[1]")
        lib.zpt_api_blackbox_sizes(self._bb, n, i, o)
        return n[0], i[0], o[0]

    def query(self, theta, inputs, variations=None, first_query=0):
        """Outputs (V x batch x output_size) of the box for theta and, if
        given, variations (offsets, lens, scales, deltas): a Variations
        object or a list of (offset, scale, delta array) tuples; without
        variations one query of theta itself (1 x batch x M)."""
        n, i, o = self.sizes()
        th = as_floats(theta, "theta", (n,))
        x = as_floats(inputs, "inputs", (-1, i))
        if variations is None:
            out = np.empty((1, x.shape[0], o), np.float32)
            check(lib.zpt_api_blackbox_query_base(self._bb, fptr(th), fptr(x), x.shape[0],
                                                  fptr(out), first_query))
            return out
        vs = [(int(off), float(sc), as_floats(d, "delta", (-1,))) for off, sc, d in
              (variations.as_tuples() if hasattr(variations, "as_tuples") else variations)]
        V = len(vs)
        offs = ffi.new("size_t[]", [v[0] for v in vs])
        lens = ffi.new("size_t[]", [len(v[2]) for v in vs])
        scales = ffi.new("float[]", [v[1] for v in vs])
        deltas = ffi.new("float *[]", [fptr(v[2]) if len(v[2]) else ffi.NULL for v in vs])
        out = np.empty((V, x.shape[0], o), np.float32)
        check(lib.zpt_api_blackbox_query(self._bb, fptr(th), V, offs, lens, scales,
                                         ffi.cast("const float *const *", deltas),
                                         fptr(x), x.shape[0], fptr(out), first_query))
        return out


class ModelBox(BlackBox):
    """A Model as a black box (zpt_model_blackbox)."""

    def __init__(self, model, noise_seed=0):
        self.model = model
        bb = lib.zpt_model_blackbox(model._m, noise_seed)
        if bb == ffi.NULL:
            check(lib.zpt_error_status() or EINVAL, "model black box")
        self._bb = ffi.gc(bb, lib.zpt_api_blackbox_free)
        self.n_params, self.input_size, self.output_size = self.sizes()


class ChipBox(BlackBox):
    """A chip driver as a black box (the chip-driver protocol client):
    `spec` is a driver command line (chip.driver) or "unix:PATH"."""

    def __init__(self, spec, timeout_s=30.0, retries=2, n_params=0, input_size=0,
                 output_size=0):
        bb = ffi.new("zpt_blackbox *[1]")
        check(lib.zpt_api_chip_open(cstr(spec), timeout_s, retries, n_params,
                                    input_size, output_size, bb), "chip %s" % spec)
        self._bb = ffi.gc(bb[0], lib.zpt_api_blackbox_free)
        self.n_params, self.input_size, self.output_size = self.sizes()


__all__ = ["Config", "Dataset", "Loss", "Model", "BlackBox", "ModelBox", "ChipBox",
           "load_data", "config_text", "ZopticValueError"]
