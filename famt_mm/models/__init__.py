from .famt_base import FAMTMaskingMixin
from .mae import FAMTMAE, FAMTMAEPretrainDecoder, FAMTMAEViT

__all__ = [
    'FAMTMaskingMixin', 'FAMTMAE', 'FAMTMAEPretrainDecoder', 'FAMTMAEViT'
]
