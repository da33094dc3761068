"""Real photos that need no download: the ones scikit-image ships."""
import os
import os.path as osp
import warnings

import numpy as np

# Colour and grey photographs bundled with scikit-image (no download).
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'hubble_deep_field',
          'immunohistochemistry', 'retina', 'camera', 'clock', 'coins',
          'moon', 'horse', 'page', 'text', 'brick', 'gravel')


def write_photos(out_dir: str, longest_side: int = 192) -> list:
    """Save scikit-image's sample photos as PNGs; return their paths."""
    import skimage.data
    from PIL import Image
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name in PHOTOS:
        path = osp.join(out_dir, f'{name}.png')
        if not osp.isfile(path):
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                image = np.asarray(getattr(skimage.data, name)())
            if image.dtype != np.uint8:  # boolean silhouettes
                image = (image > 0).astype(np.uint8) * 255
            img = Image.fromarray(image).convert('RGB')
            img.thumbnail((longest_side, longest_side), Image.BICUBIC)
            img.save(path)
        paths.append(path)
    return paths
