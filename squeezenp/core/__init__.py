"""The foundation every other part of squeezenp stands on.

- ``layer.py``     -- the layer protocol: ``Layer`` (params, grads, buffers, cache, forward hooks, ``fuse``),
  ``Sequential``;
- ``checks.py``    -- argument checks with one-line errors naming the layer (``check_input``, ``check_grad``,
  ``pair``);
- ``gradcheck.py`` -- central-difference gradient checks, for the tests and for anyone writing a new layer;
- ``malloc.py``    -- glibc keeps freed large blocks in the heap (applied by ``import squeezenp``;
  ``SQUEEZENP_MALLOC=system`` opts out);
- ``atomic.py``    -- files written atomically (a temporary file, fsync, ``os.replace``): a crash never leaves
  half a model, checkpoint or report.
"""
from .checks import FLOAT_DTYPES, check_grad, check_input, pair
from .layer import HookHandle, Layer, Sequential

__all__ = ["Layer", "Sequential", "HookHandle", "check_input", "check_grad", "pair", "FLOAT_DTYPES"]
