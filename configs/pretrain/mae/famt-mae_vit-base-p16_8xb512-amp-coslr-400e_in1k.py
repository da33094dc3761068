# FAMT-MAE, ViT-B/16, ImageNet-1K, 400 epochs (the paper's main setting).
# Everything but masking is MMPretrain's MAE 400e recipe.
_base_ = 'mmpretrain::mae/mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py'
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)

model = dict(
    type='FAMTMAE',
    backbone=dict(type='FAMTMAEViT'),
    neck=dict(type='FAMTMAEPretrainDecoder'),
    # r=0.45, t=0.40: 15% visible, masked:visible 3:1 as MAE's r=0.75
    mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.45, throw_ratio=0.40),
    # warm-up: MAE's random masking, nothing thrown
    warmup_mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.75, throw_ratio=0.0))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='FAMTRandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# mode: 'famt' | 'attention' (AMT) | 'random' (MAE baseline) -- the one key.
# Warm-up 40 epochs (10%), then a refresh every 40 epochs, as the authors.
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.1, interval=0.1)
]
# Checkpoints written atomically; the oldest removed only after the new one
# is complete (famt_mm/checkpoint.py).
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
