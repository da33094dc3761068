# FAMT-MAE with a ViT-Tiny encoder on 32x32 images, patch 4 (8x8 = 64 tokens).
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)
model = dict(
    type='FAMTMAE',
    backbone=dict(
        type='FAMTMAEViT', arch='deit-tiny', img_size=32, patch_size=4),
    neck=dict(
        type='FAMTMAEPretrainDecoder',
        num_patches=64,
        patch_size=4,
        in_chans=3,
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4,
        mlp_ratio=4.),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=4,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    # 64 tokens: 28 masked, 26 thrown, 10 visible
    mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.45, throw_ratio=0.40),
    warmup_mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.75, throw_ratio=0.0),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])
