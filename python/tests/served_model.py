"""A chip driver module for the tests: query() runs zoptic's own simulated
model (through libzoptic) of the configuration in $ZOPTIC_SERVED_CONFIG,
so training through this Python driver must equal in-process training to
the last bit.  FAIL_AT=n makes the n-th call misbehave ($ZOPTIC_SERVED_FAIL:
die, raise, shape, nan, sleep)."""
import os
import time

import zoptic

_model = zoptic.Model(open(os.environ["ZOPTIC_SERVED_CONFIG"]).read())
_box = _model.box(noise=True)
N_PARAMS, INPUT_SIZE, OUTPUT_SIZE = _model.n_params, _model.input_size, _model.output_size
_calls = 0


def query(theta, variations, inputs):
    global _calls
    _calls += 1
    mode = os.environ.get("ZOPTIC_SERVED_FAIL", "")
    if mode and _calls >= int(os.environ.get("ZOPTIC_SERVED_FAIL_AT", "1")):
        if mode == "die":
            os._exit(3)
        if mode == "raise":
            raise RuntimeError("laser interlock open")
        if mode == "sleep":
            time.sleep(120)
        if mode == "shape":
            return [[0.0]]
        if mode == "nan":
            return [[[float("nan")] * OUTPUT_SIZE] * len(inputs)] * len(variations)
    if variations.full is not None:  # one full theta per setting
        return [_box.query(t, inputs, first_query=variations.first_query + v)[0]
                for v, t in enumerate(variations.full)]
    return _box.query(theta, inputs, variations, first_query=variations.first_query)
