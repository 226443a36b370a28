"""Data package: image decoding, synthetic CT phantoms, the paper's x4 augmentation, and dataset layouts.

Modules (one concern each):

- ``shared``    -- where the read-only ``shared/`` folder is (``shared_dir``).
- ``images``    -- any image file -> one grayscale (H, W) array -> network tensor (C, H, W).
- ``phantoms``  -- seeded synthetic chest CT slices with and without ground-glass opacities.
- ``augment``   -- rotation / scaling / noise augmentation, x4 as in Table 1 of Polsinelli et al. (2020).
- ``datasets``  -- image-folder and upstream COVID-CT layouts, the paper's two data arrangements, in-memory arrays.

See ``docs/data.md`` for the representation and normalisation choices.
"""
from .shared import shared_dir, covid_ct_dir
from .images import (
    NORMALISATION, DEFAULT_MAX_PIXELS, TINY_SIDE, ImageLoadError,
    load_grayscale, load_grayscale_checked, input_warning, to_network_input, load_image, load_batch,
)
from .phantoms import make_phantom, make_phantom_dataset, write_phantom_folder, build_phantom_folder
from .augment import (
    draw_params, rotate, scale, add_noise, augment_x4, augmentation_examples,
)
from .datasets import (
    CLASS_NAMES, COVID, NONCOVID, IMAGE_EXTENSIONS, DatasetLayoutError, Split, Arrangement, ArrayDataset,
    scan_class_folders, scan_image_folder, scan_upstream_layout, arrangement1, arrangement2, load_split,
    augment_dataset,
)

__all__ = [
    "shared_dir", "covid_ct_dir",
    "NORMALISATION", "DEFAULT_MAX_PIXELS", "TINY_SIDE", "ImageLoadError",
    "load_grayscale", "load_grayscale_checked", "input_warning", "to_network_input", "load_image", "load_batch",
    "make_phantom", "make_phantom_dataset", "write_phantom_folder", "build_phantom_folder",
    "draw_params", "rotate", "scale", "add_noise", "augment_x4", "augmentation_examples",
    "CLASS_NAMES", "COVID", "NONCOVID", "IMAGE_EXTENSIONS", "DatasetLayoutError", "Split", "Arrangement",
    "ArrayDataset", "scan_class_folders", "scan_image_folder", "scan_upstream_layout", "arrangement1", "arrangement2",
    "load_split", "augment_dataset",
]
