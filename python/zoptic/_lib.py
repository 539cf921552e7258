"""Loading libzoptic.so through cffi (ABI mode) and turning C statuses into
Python exceptions that carry the C message.

The library is found, in this order:
  1. $ZOPTIC_LIBRARY (a path to libzoptic.so);
  2. the copy recorded by `make install` (zoptic/_install.py, LIBDIR);
  3. the build tree of a source checkout: <repo>/$BUILD/libzoptic.so
     (BUILD defaults to "build"), when the package is imported from
     <repo>/python (PYTHONPATH=python);
  4. the dynamic loader's search path (libzoptic.so.0, then libzoptic.so).
"""
import os

import numpy as np
from cffi import FFI

ffi = FFI()
_HERE = os.path.dirname(os.path.abspath(__file__))
ffi.cdef("typedef struct zpt_dataset_ zpt_dataset;\n"
         "typedef struct zpt_params_ zpt_params;\n")
with open(os.path.join(_HERE, "_cdef.h")) as _f:
    ffi.cdef(_f.read())

# Status codes of src/core/status.h.
OK, ENOMEM, EINVAL, EIO, EFORMAT, ERANGE, ENUMERIC, EBUDGET, EPROTO, \
    ETIMEOUT, ENOTFOUND, EBACKEND = 0, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11


class ZopticError(Exception):
    """A failure reported by libzoptic: .status is the C status code,
    .code its name ("EINVAL", ...), str() the C message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.code = _status_name(status)


class ZopticValueError(ZopticError, ValueError):
    """EINVAL / ERANGE: an invalid argument, shape or setting."""


class ZopticIOError(ZopticError, OSError):
    """EIO / EFORMAT / ENOTFOUND: a file could not be read or is malformed."""


class BudgetExhausted(ZopticError):
    """EBUDGET: the next iteration would exceed the query budget (nothing
    was spent)."""


class NumericError(ZopticError, ArithmeticError):
    """ENUMERIC: a non-finite number or a matrix that is not positive
    definite."""


class BackendError(ZopticError):
    """EBACKEND / EPROTO / ETIMEOUT: the black box (a Python callable, a chip
    driver) failed; a Python exception raised by a callable is the
    __cause__."""


_CLASSES = {EINVAL: ZopticValueError, ERANGE: ZopticValueError,
            EIO: ZopticIOError, EFORMAT: ZopticIOError,
            ENOTFOUND: ZopticIOError, EBUDGET: BudgetExhausted,
            ENUMERIC: NumericError, EBACKEND: BackendError,
            EPROTO: BackendError, ETIMEOUT: BackendError}


def _candidates():
    env = os.environ.get("ZOPTIC_LIBRARY")
    if env:
        yield env
        return
    try:
        from . import _install  # written by `make install`
        yield os.path.join(_install.LIBDIR, "libzoptic.so")
    except ImportError:
        pass
    repo = os.path.dirname(os.path.dirname(_HERE))
    build = os.environ.get("BUILD", "build")
    yield os.path.join(build if os.path.isabs(build) else os.path.join(repo, build),
                       "libzoptic.so")
    yield "libzoptic.so.0"
    yield "libzoptic.so"


def _load():
    errors = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            errors.append("%s: no such file" % path)
            continue
        try:
            return ffi.dlopen(path), path
        except OSError as e:
            errors.append("%s: %s" % (path, e))
    raise ImportError("zoptic: cannot load libzoptic.so (build it with `make`, "
                      "or set ZOPTIC_LIBRARY): " + "; ".join(errors))


lib, LIBRARY_PATH = _load()


def _status_name(status):
    return ffi.string(lib.zpt_status_name(status)).decode()


def error(status, context=None):
    """The exception for a failed C call (the thread's C message)."""
    msg = ffi.string(lib.zpt_error_message()).decode(errors="replace")
    if not msg:
        msg = "failed with " + _status_name(status)
    if context:
        msg = "%s: %s" % (context, msg)
    return _CLASSES.get(status, ZopticError)(status, msg)


def check(status, context=None):
    """Raises the exception of a non-zero C status."""
    if status != OK:
        raise error(status, context)


def cstr(s):
    return s.encode() if isinstance(s, str) else s


def pystr(p):
    return ffi.string(p).decode() if p != ffi.NULL else None


class _View:
    """Exposes memory owned by a C object to numpy (__array_interface__); the
    array's base is this object, which keeps `owner` alive."""

    def __init__(self, addr, shape, writeable, owner):
        self.__array_interface__ = {"data": (addr, not writeable), "shape": shape,
                                    "typestr": "<f4", "version": 3}
        self.owner = owner


_UINTPTR = ffi.typeof("uintptr_t")


def float_view(ptr, shape, owner=None, writeable=True):
    """A numpy float32 array of `shape` over the floats at ptr, without a
    copy; the array keeps `owner` (the object that frees ptr) alive."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    n = 1
    for s in shape:
        n *= s
    if n == 0 or ptr == ffi.NULL:
        return np.zeros(shape, np.float32)
    return np.asarray(_View(int(ffi.cast(_UINTPTR, ptr)), shape, writeable, owner))


SIZE_T = ffi.sizeof("size_t")
SIZE_DTYPE = np.uint64 if SIZE_T == 8 else np.uint32


def as_floats(x, name, shape=None, allow_int=False):
    """x as a C-contiguous float32 array.  Refuses dtypes that are not real
    floating point (integers too unless allow_int) with TypeError and, with
    `shape` (-1 = any length), another shape with ValueError."""
    a = np.asarray(x)
    if not (a.dtype.kind == "f" or allow_int and a.dtype.kind in "iu"):
        raise TypeError("%s: dtype %s: expected float32 (or another real "
                        "floating-point type%s)" % (name, a.dtype,
                                                    ", or integers" if allow_int else ""))
    a = np.ascontiguousarray(a, dtype=np.float32)
    if shape is not None:
        if a.ndim != len(shape) or any(s not in (-1, d) for s, d in zip(shape, a.shape)):
            want = "(" + ", ".join("*" if s == -1 else str(s) for s in shape) + ")"
            raise ValueError("%s: shape %s: expected %s" % (name, a.shape, want))
    return a


def fptr(a):
    """float * of a C-contiguous float32 array."""
    return ffi.cast("float *", ffi.from_buffer(a))
