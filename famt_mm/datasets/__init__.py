"""What a training sample carries: the in-memory folder, the transforms
that record their view and load each image's weights, the weight files."""
from .image_folder import InMemoryImageFolder
from .transforms import FAMTRandomFlip, FAMTRandomResizedCrop, LoadFAMTWeights
from .weight_files import FAMTWeightStore, WeightArchive

__all__ = [
    'InMemoryImageFolder', 'FAMTRandomFlip', 'FAMTRandomResizedCrop',
    'LoadFAMTWeights', 'FAMTWeightStore', 'WeightArchive'
]
