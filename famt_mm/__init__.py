"""famt-mm: FAMT / AMT masking and throwing for MMPretrain's MAE and SimMIM.

Importing the package registers its components in MMPretrain's registries
(``custom_imports = dict(imports=['famt_mm'])`` in a config). Only
mmengine, mmcv (or mmcv-lite) and mmpretrain are needed here; the
downstream helpers that need mmdet / mmseg are imported on demand.
"""
from . import compat  # patches upstream breakages, see its docstring
from .datasets import (FAMTRandomFlip, FAMTRandomResizedCrop,
                       InMemoryImageFolder, LoadFAMTWeights)
from .engine import (BF16OptimWrapper, EpochSeedHook, FAMTHook,
                     SafeCheckpointHook)
from .models import (FAMTMAE, FAMTMAEPretrainDecoder, FAMTMAEViT, FAMTSimMIM,
                     FAMTSimMIMSwinTransformer, FAMTSimMIMViT)
from .models.utils import FAMTMaskGenerator, mask_counts, split_ids
from .version import __version__


def _register_model_index():
    """Make the pretraining configs discoverable through MMPretrain's
    ModelHub (``mmpretrain.list_models('famt*')``, ``get_model(name)``)."""
    import os.path as osp

    from mmpretrain.apis import ModelHub
    mim = osp.join(osp.dirname(__file__), '.mim')
    for family in ('mae', 'simmim'):
        metafile = osp.join(mim, 'configs', 'pretrain', family, 'metafile.yml')
        if osp.isfile(metafile):
            ModelHub.register_model_index(metafile, config_prefix=mim)


_register_model_index()

__all__ = [
    '__version__', 'FAMTHook', 'FAMTMaskGenerator', 'mask_counts',
    'split_ids', 'FAMTMAE', 'FAMTMAEPretrainDecoder', 'FAMTMAEViT',
    'FAMTSimMIM', 'FAMTSimMIMSwinTransformer', 'FAMTSimMIMViT',
    'FAMTRandomFlip', 'FAMTRandomResizedCrop', 'LoadFAMTWeights',
    'InMemoryImageFolder', 'SafeCheckpointHook', 'EpochSeedHook',
    'BF16OptimWrapper'
]
