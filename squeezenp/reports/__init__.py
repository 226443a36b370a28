"""What a run shows a reader: class activation maps (``cam.py``), figures drawn with Pillow only (training
curves, confusion matrices, ROC curves, CAM overlays and grids: ``figures.py``) and their colour map
(``colormap.py``)."""
