"""zoptic from Python: the paper's models, the zeroth-order trainer (ZO-I,
ZO-co, ZO-NP) over a zoptic model, a chip driver or any Python callable,
checkpoints shared with the `zoptic` program, a PyTorch adapter
(zoptic.torch) and a chip driver written in Python (zoptic.chipd).
Every query runs through libzoptic.so (docs/python.md)."""
from ._lib import (ZopticError, ZopticValueError, ZopticIOError, BudgetExhausted,
                   NumericError, BackendError, LIBRARY_PATH)
from .model import (Config, Dataset, Loss, Model, BlackBox, ModelBox, ChipBox,
                    load_data)
from .train import Variations, CallableBox, Trainer
from .run import Run

__version__ = "0.1.0"
__all__ = ["ZopticError", "ZopticValueError", "ZopticIOError", "BudgetExhausted",
           "NumericError", "BackendError", "Config", "Dataset", "Loss", "Model",
           "BlackBox", "ModelBox", "ChipBox", "CallableBox", "Variations", "Trainer",
           "Run", "load_data", "LIBRARY_PATH"]
