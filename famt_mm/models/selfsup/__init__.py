from .famt_base import FAMTMaskingMixin
from .mae import FAMTMAE, FAMTMAEPretrainDecoder, FAMTMAEViT
from .simmim import FAMTSimMIM, FAMTSimMIMSwinTransformer, FAMTSimMIMViT

__all__ = [
    'FAMTMaskingMixin', 'FAMTMAE', 'FAMTMAEPretrainDecoder', 'FAMTMAEViT',
    'FAMTSimMIM', 'FAMTSimMIMSwinTransformer', 'FAMTSimMIMViT'
]
