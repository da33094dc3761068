# FAMT-SimMIM with a ViT-Tiny encoder on 32x32 images, patch 4 (8x8 tokens),
# masking 8x8-pixel blocks (2x2 patches, 4x4 = 16 units).
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)
model = dict(
    type='FAMTSimMIM',
    backbone=dict(
        type='FAMTSimMIMViT',
        arch='deit-tiny',
        img_size=32,
        patch_size=4,
        init_cfg=[
            dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
            dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.)
        ]),
    neck=dict(type='SimMIMLinearDecoder', in_channels=192, encoder_stride=4),
    head=dict(
        type='SimMIMHead',
        patch_size=4,
        loss=dict(type='PixelReconstructionLoss', criterion='L1', channel=3)),
    # 16 units: 8 masked (ceil 7.04), 5 thrown (ceil 4.16), 3 visible
    mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.44, throw_ratio=0.26,
        mask_unit=2,
        rounding='ceil'),
    warmup_mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.6, throw_ratio=0.0,
        mask_unit=2,
        rounding='ceil'))
