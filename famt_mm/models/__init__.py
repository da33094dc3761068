from .selfsup import (FAMTMAE, FAMTMAEPretrainDecoder, FAMTMAEViT,
                      FAMTMaskingMixin, FAMTSimMIM, FAMTSimMIMSwinTransformer,
                      FAMTSimMIMViT)
from .utils import FAMTMaskGenerator

__all__ = [
    'FAMTMaskingMixin', 'FAMTMAE', 'FAMTMAEPretrainDecoder', 'FAMTMAEViT',
    'FAMTSimMIM', 'FAMTSimMIMSwinTransformer', 'FAMTSimMIMViT',
    'FAMTMaskGenerator'
]
