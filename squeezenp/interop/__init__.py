"""Exchange with other frameworks: ONNX export of the four networks checked with onnxruntime
(``onnx_export.py``), and SqueezeNet 1.1 weights read from any ONNX file by graph structure (``onnx_import.py``).
``onnx`` is imported only when one of their functions runs (``pip install squeezenp[onnx]``)."""
