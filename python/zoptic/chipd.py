"""A chip driver in pure Python: serves the chip-driver protocol v1
(docs/hardware.md) from one function, so a lab writes only

    def query(theta, variations, inputs):   # -> n_vars x batch x output_size
        ...

and trains with  chip.driver = python3 -m zoptic.chipd lab.py:query
--n-params N --input-size I --output-size M  (or the module's N_PARAMS,
INPUT_SIZE, OUTPUT_SIZE).  Framing, validation, messages and error codes
are those of zoptic-chipd (src/hw/chip_server.c, chip_proto.c): a
well-framed but invalid request gets an ERROR reply and the driver keeps
serving; a frame that breaks framing gets an ERROR reply and the
connection ends; non-finite outputs are refused (ENUMERIC).  An exception
raised by query() becomes an ERROR reply (code EIO, or e.code for a
ChipError) and the driver keeps serving.  This module uses numpy only (not
libzoptic), so it runs on a lab machine without zoptic's C library when
imported as a file.
"""
import argparse
import importlib
import importlib.util
import os
import select
import signal
import socket
import struct
import sys

import numpy as np

VERSION = 1
MAGIC = 0x4843505A
HEADER = struct.Struct("<IHHII")
HELLO, INFO, EVAL, OUTPUT, ERROR = 1, 2, 3, 4, 5
TYPE_NAMES = {HELLO: "HELLO", INFO: "INFO", EVAL: "EVAL", OUTPUT: "OUTPUT", ERROR: "ERROR"}
MAX_PAYLOAD = 1 << 30
MAX_NAME, MAX_MESSAGE = 256, 4096
HELLO_SIZE, EVAL_FIXED, VAR_ENTRY = 8, 24, 24
REAL, COMPLEX = 1, 2
COMPACT, FULL = 1, 2
# zoptic statuses (src/core/status.h)
EINVAL, EIO, ERANGE, ENUMERIC, EPROTO = -2, -3, -5, -6, -8


class ChipError(Exception):
    """Raise from query() to answer with a specific zoptic status code
    (e.g. ChipError(-3, "laser interlock open"))."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class _Fail(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Variations:
    """The settings of one EVAL (the same object as zoptic.Variations):
    theta (N,), offset / length (V,), scale (V,) and delta (V arrays), all
    read-only views of the request; setting v is theta with
    theta[offset:offset+length] += scale * delta (binary32).  For a driver
    announcing the full form, .full is the V x N matrix of settings and
    offset/length/scale/delta are None.  apply(v) and dense() work in
    both forms."""

    def __init__(self, theta, offset, length, scale, delta, first_query, full=None):
        self.theta, self.offset, self.length = theta, offset, length
        self.scale, self.delta, self.first_query, self.full = scale, delta, first_query, full

    def __len__(self):
        return len(self.full) if self.full is not None else len(self.offset)

    def apply(self, v, out=None):
        if self.full is not None:
            src = self.full[v]
            return src.copy() if out is None else np.copyto(out, src) or out
        if out is None:
            out = self.theta.copy()
        else:
            np.copyto(out, self.theta)
        o, n = int(self.offset[v]), int(self.length[v])
        if n:
            out[o:o + n] = self.theta[o:o + n] + self.scale[v] * self.delta[v]
        return out

    def as_tuples(self):
        return [(int(self.offset[v]), float(self.scale[v]), self.delta[v])
                for v in range(len(self))]

    def dense(self):
        if self.full is not None:
            return self.full.copy()
        out = np.empty((len(self), len(self.theta)), np.float32)
        for v in range(len(self)):
            self.apply(v, out[v])
        return out


def _nonfinite(x):
    bad = ~np.isfinite(x)
    return int(np.argmax(bad)) if bad.any() else -1


def _check_finite(x, what, row_len):
    i = _nonfinite(x)
    if i < 0:
        return
    if row_len:
        raise _Fail(ENUMERIC, "EVAL: %s %d, value %d is %g (must be finite)"
                    % (what, i // row_len, i % row_len, x[i]))
    raise _Fail(ENUMERIC, "EVAL: %s[%d] is %g (must be finite)" % (what, i, x[i]))


class Driver:
    """Serves query(theta, variations, inputs) over the protocol."""

    def __init__(self, query, n_params, input_size, output_size, name="zoptic.chipd",
                 max_batch=0, max_vars=0, form=COMPACT, input_kind=REAL, log=sys.stderr):
        for what, v in (("n_params", n_params), ("input_size", input_size),
                        ("output_size", output_size)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError("%s = %r: expected an integer >= 1" % (what, v))
        if input_kind == COMPLEX and input_size % 2:
            raise ValueError("input_size = %d: complex inputs need an even size" % input_size)
        if len(name.encode()) > MAX_NAME:
            raise ValueError("driver name longer than %d bytes" % MAX_NAME)
        self.query, self.n, self.i, self.m = query, int(n_params), int(input_size), \
            int(output_size)
        self.name, self.max_batch, self.max_vars = name, int(max_batch), int(max_vars)
        self.form, self.input_kind, self.log = form, input_kind, log
        self.stop = False

    # ---- frames ----
    def info_payload(self):
        nm = self.name.encode()
        return struct.pack("<IIIIQQQIII", VERSION, self.input_kind, self.form, 0, self.n,
                           self.i, self.m, self.max_batch, self.max_vars, len(nm)) + nm

    def _log(self, what, seq, msg):
        if self.log:
            self.log.write("zoptic chip server: %s (request %d): %s\n" % (what, seq, msg))
            self.log.flush()

    def _send(self, wfd, ftype, seq, payload):
        data = HEADER.pack(MAGIC, ftype, 0, seq, len(payload)) + payload
        view = memoryview(data)
        while view:
            k = os.write(wfd, view)
            view = view[k:]

    def _send_error(self, wfd, seq, code, message):
        self._log("error reply", seq, message)
        msg = message.encode(errors="replace")[:MAX_MESSAGE - 1]
        self._send(wfd, ERROR, seq, struct.pack("<iI", code, len(msg)) + msg)

    def _read(self, rfd, n):
        """n bytes, or fewer at end of stream / on a stop request."""
        buf = bytearray()
        while len(buf) < n:
            r, _, _ = select.select([rfd], [], [], 0.2)
            if not r:
                if self.stop:
                    return bytes(buf)
                continue
            chunk = os.read(rfd, min(n - len(buf), 1 << 20))
            if not chunk:
                return bytes(buf)
            buf += chunk
        return bytes(buf)

    def _max_request(self, ftype):
        if ftype == HELLO:
            return HELLO_SIZE
        if ftype != EVAL:
            return 0
        if not self.max_vars or not self.max_batch:
            return MAX_PAYLOAD
        bound = EVAL_FIXED + 4 * self.n + self.max_vars * (VAR_ENTRY + 4 * self.n) + \
            4 * self.max_batch * self.i
        return min(bound, MAX_PAYLOAD)

    def decode_eval(self, p):
        """(Variations, inputs) of an EVAL payload, validated as chip_proto.c does."""
        ln = len(p)
        if ln < EVAL_FIXED:
            raise _Fail(EPROTO, "EVAL payload is %d bytes, expected at least %d"
                        % (ln, EVAL_FIXED))
        first, nv, batch, form, res = struct.unpack_from("<QIIII", p, 0)
        if res:
            raise _Fail(EPROTO, "EVAL: reserved field is not 0")
        if form != self.form:
            raise _Fail(EPROTO, "EVAL: variation form %d, the handshake announced %d"
                        % (form, self.form))
        if nv < 1 or (self.max_vars and nv > self.max_vars):
            raise _Fail(EPROTO, "EVAL: %d settings, the driver takes 1 to %d"
                        % (nv, self.max_vars or 0xFFFFFFFF))
        if batch < 1 or (self.max_batch and batch > self.max_batch):
            raise _Fail(EPROTO, "EVAL: batch of %d samples, the driver takes 1 to %d"
                        % (batch, self.max_batch or 0xFFFFFFFF))
        n, pos = self.n, EVAL_FIXED

        def length_error(expected):
            return _Fail(EPROTO, "EVAL payload is %d bytes, but its counts need %d"
                         % (ln, expected))

        if form == FULL:
            if nv * n * 4 > ln - pos:
                raise length_error(pos + nv * n * 4)
            full = np.frombuffer(p, "<f4", nv * n, pos).reshape(nv, n)
            pos += nv * n * 4
            _check_finite(full.reshape(-1), "setting", n)
            var = Variations(full[0], None, None, None, None, first, full=full)
        else:
            if 4 * n > ln - pos or nv > (ln - pos - 4 * n) // VAR_ENTRY:
                raise length_error(pos + 4 * n + nv * VAR_ENTRY)
            theta = np.frombuffer(p, "<f4", n, pos)
            _check_finite(theta, "theta", 0)
            pos += 4 * n
            table = pos
            pos += nv * VAR_ENTRY
            offs, lens = np.empty(nv, np.uint64), np.empty(nv, np.uint64)
            scales, deltas = np.empty(nv, np.float32), []
            for v in range(nv):
                off, vl, sc, r = struct.unpack_from("<QQfI", p, table + v * VAR_ENTRY)
                if r:
                    raise _Fail(EPROTO, "EVAL: variation %d: reserved field is not 0" % v)
                if off > n or vl > n - off:
                    raise _Fail(EPROTO, "EVAL: variation %d covers [%d, %d + %d), outside "
                                "theta of %d parameters" % (v, off, off, vl, n))
                if not np.isfinite(sc):
                    raise _Fail(ENUMERIC, "EVAL: variation %d: scale is %g (must be finite)"
                                % (v, sc))
                if vl > (ln - pos) // 4:
                    raise length_error(pos + 4 * vl)
                d = np.frombuffer(p, "<f4", vl, pos)
                i = _nonfinite(d)
                if i >= 0:
                    raise _Fail(ENUMERIC, "EVAL: variation %d: delta[%d] is %g (must be "
                                "finite)" % (v, i, d[i]))
                offs[v], lens[v], scales[v] = off, vl, sc
                deltas.append(d)
                pos += 4 * vl
            var = Variations(theta, offs, lens, scales, deltas, first)
        if batch * self.i * 4 > ln - pos or ln != pos + 4 * batch * self.i:
            raise length_error(pos + 4 * batch * self.i)
        x = np.frombuffer(p, "<f4", batch * self.i, pos)
        _check_finite(x, "input sample", self.i)
        return var, x.reshape(batch, self.i)

    def evaluate(self, p):
        var, x = self.decode_eval(p)
        try:
            y = self.query(var.theta, var, x)
        except ChipError as e:
            raise _Fail(e.code, str(e))
        except Exception as e:  # noqa: the lab's code may raise anything
            raise _Fail(EIO, "query raised %s: %s" % (type(e).__name__, e))
        want = (len(var), x.shape[0], self.m)
        y = np.asarray(y)
        if y.dtype.kind not in "fiu":
            raise _Fail(EINVAL, "query returned dtype %s, expected real numbers (float32)"
                        % y.dtype)
        if y.shape != want:
            raise _Fail(EINVAL, "query returned shape %s, expected %s (settings, samples, "
                        "outputs)" % (y.shape, want))
        y = np.ascontiguousarray(y, "<f4")
        i = _nonfinite(y.reshape(-1))
        if i >= 0:
            raise _Fail(ENUMERIC, "the chip produced a non-finite output (%g) for setting "
                        "%d, sample %d, output %d" % (y.reshape(-1)[i], i // (want[1] * self.m),
                                                      i // self.m % want[1], i % self.m))
        return struct.pack("<II", len(var), x.shape[0]) + y.tobytes()

    def serve_fds(self, rfd, wfd):
        """Serves one connection until the client closes it (returns 0) or
        framing breaks (returns EPROTO / EIO)."""
        handshaken = False
        while True:
            hb = self._read(rfd, HEADER.size)
            if not hb:
                return 0
            if len(hb) < HEADER.size:
                self._log("connection lost", 0, "inside a frame header (%d of %d bytes)"
                          % (len(hb), HEADER.size))
                return EIO
            magic, ftype, res, seq, length = HEADER.unpack(hb)
            err = None
            if magic != MAGIC:
                err = (0, "bad frame magic 0x%08x (expected 0x%08x \"ZPCH\"): not a "
                       "chip-protocol peer, or the stream lost sync" % (magic, MAGIC))
            elif res:
                err = (0, "frame header: reserved field is %d, expected 0" % res)
            elif ftype < HELLO or ftype > ERROR:
                err = (0, "frame header: unknown frame type %d" % ftype)
            elif length > MAX_PAYLOAD:
                err = (0, "frame header: %s payload of %d bytes exceeds the limit of %d"
                       % (TYPE_NAMES[ftype], length, MAX_PAYLOAD))
            elif length > self._max_request(ftype):
                err = (seq, "a client may not send a %s frame of %d bytes (at most %d)"
                       % (TYPE_NAMES[ftype], length, self._max_request(ftype)))
            if err:
                self._send_error(wfd, err[0], EPROTO, err[1])
                return EPROTO
            p = self._read(rfd, length)
            if len(p) < length:
                self._log("connection lost", seq, "after %d of %d payload bytes"
                          % (len(p), length))
                return EIO
            try:
                if ftype == HELLO:
                    if length != HELLO_SIZE:
                        raise _Fail(EPROTO, "HELLO payload is %d bytes, expected %d"
                                    % (length, HELLO_SIZE))
                    version, r = struct.unpack("<II", p)
                    if r:
                        raise _Fail(EPROTO, "HELLO: reserved field is not 0")
                    if version != VERSION:
                        raise _Fail(EPROTO, "this driver speaks chip protocol version %d, "
                                    "the client asked for version %d" % (VERSION, version))
                    self._send(wfd, INFO, seq, self.info_payload())
                    handshaken = True
                elif not handshaken:
                    raise _Fail(EPROTO, "EVAL before the HELLO handshake")
                else:
                    self._send(wfd, OUTPUT, seq, self.evaluate(p))
            except _Fail as e:
                self._send_error(wfd, seq, e.code, str(e))

    def serve_listener(self, lsock):
        while not self.stop:
            r, _, _ = select.select([lsock], [], [], 0.2)
            if not r:
                continue
            conn, _ = lsock.accept()
            with conn:
                try:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    pass
                try:
                    self.serve_fds(conn.fileno(), conn.fileno())
                except OSError as e:
                    self._log("connection ended", 0, str(e))
        return 0


def load_query(spec):
    """`module:function` or `path/file.py:function` -> (function, module)."""
    if ":" not in spec:
        raise ValueError("%s: expected MODULE:FUNCTION or FILE.py:FUNCTION" % spec)
    where, fn = spec.rsplit(":", 1)
    if where.endswith(".py") or os.sep in where:
        if not os.path.exists(where):
            raise ValueError("%s: no such file" % where)
        s = importlib.util.spec_from_file_location("zoptic_chipd_user", where)
        mod = importlib.util.module_from_spec(s)
        s.loader.exec_module(mod)
    else:
        mod = importlib.import_module(where)
    if not callable(getattr(mod, fn, None)):
        raise ValueError("%s: no function %s in %s" % (spec, fn, where))
    return getattr(mod, fn), mod


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python3 -m zoptic.chipd",
        description="Serves query(theta, variations, inputs) of a Python module over the "
        "zoptic chip-driver protocol v1 on stdin/stdout (or a socket). Logs go to stderr.")
    ap.add_argument("query", help="MODULE:FUNCTION or FILE.py:FUNCTION")
    ap.add_argument("--n-params", type=int)
    ap.add_argument("--input-size", type=int)
    ap.add_argument("--output-size", type=int)
    ap.add_argument("--socket", help="listen on a Unix-domain socket")
    ap.add_argument("--tcp", help="listen on HOST:PORT (no authentication: use 127.0.0.1)")
    ap.add_argument("--name", default="zoptic.chipd (python)")
    ap.add_argument("--max-batch", type=int, default=0)
    ap.add_argument("--max-vars", type=int, default=0)
    ap.add_argument("--full-theta", action="store_true")
    ap.add_argument("--complex", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    try:
        query, mod = load_query(a.query)
        sizes = [getattr(a, k) if getattr(a, k) is not None else getattr(mod, K, None)
                 for k, K in (("n_params", "N_PARAMS"), ("input_size", "INPUT_SIZE"),
                              ("output_size", "OUTPUT_SIZE"))]
        if None in sizes:
            raise ValueError("give --n-params, --input-size and --output-size (or define "
                             "N_PARAMS, INPUT_SIZE, OUTPUT_SIZE in the module)")
        if a.socket and a.tcp:
            raise ValueError("give --socket or --tcp, not both")
        if a.max_batch < 0 or a.max_vars < 0:
            raise ValueError("--max-batch and --max-vars need a count >= 1")
        d = Driver(query, *sizes, name=a.name, max_batch=a.max_batch, max_vars=a.max_vars,
                   form=FULL if a.full_theta else COMPACT,
                   input_kind=COMPLEX if a.complex else REAL,
                   log=None if a.quiet else sys.stderr)
    except Exception as e:  # noqa: report and exit 2 like zoptic-chipd
        sys.stderr.write("zoptic.chipd: %s\n" % e)
        return 2

    def on_stop(sig, frame):
        d.stop = True
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    if d.log:
        d.log.write("zoptic.chipd: %s: %d parameters, %d %s inputs -> %d outputs, max batch "
                    "%d, max settings %d (0 = no limit), %s form\n"
                    % (d.name, d.n, d.i, "complex" if a.complex else "real", d.m,
                       d.max_batch, d.max_vars, "full" if a.full_theta else "compact"))
        d.log.flush()
    try:
        if a.socket:
            if os.path.exists(a.socket):
                try:
                    socket.socket(socket.AF_UNIX).connect(a.socket)
                    sys.stderr.write("zoptic.chipd: %s: a driver is already serving there\n"
                                     % a.socket)
                    return 1
                except OSError:
                    os.unlink(a.socket)  # a stale socket file
            with socket.socket(socket.AF_UNIX) as s:
                s.bind(a.socket)
                s.listen(1)
                try:
                    return d.serve_listener(s)
                finally:
                    os.unlink(a.socket)
        if a.tcp:
            host, _, port = a.tcp.rpartition(":")
            with socket.create_server((host.strip("[]"), int(port))) as s:
                if d.log:
                    d.log.write("zoptic chip server: listening on tcp port %d\n"
                                % s.getsockname()[1])
                    d.log.flush()
                return d.serve_listener(s)
        # stdout is the protocol channel: the lab's print() goes to stderr
        out_fd = os.dup(sys.stdout.fileno())
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        rc = d.serve_fds(sys.stdin.fileno(), out_fd)
        return 0 if rc == 0 else 1
    except OSError as e:
        sys.stderr.write("zoptic.chipd: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
