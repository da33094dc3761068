# FAMT *masking* (nothing thrown) on MMPretrain's SimMIM Swin-B, 192 px:
# Swin's windows need the full patch grid, so throw_ratio is 0. The
# attention cue is the last stage's (6x6 tokens, one window) received
# attention; masks are 32x32 blocks (8x8 patches of 4 px).
_base_ = ('mmpretrain::simmim/'
          'simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py')
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)

model = dict(
    type='FAMTSimMIM',
    backbone=dict(type='FAMTSimMIMSwinTransformer'),
    mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.6, throw_ratio=0.0,
        mask_unit=8,
        rounding='ceil'),
    warmup_mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.6, throw_ratio=0.0,
        mask_unit=8,
        rounding='ceil'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='FAMTRandomResizedCrop', scale=192,
         crop_ratio_range=(0.67, 1.0)),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# SimMIM's cadence as with ViT-B: 20% warm-up, a refresh every 20%.
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.2, interval=0.2)
]
randomness = dict(seed=0, diff_rank_seed=True)
# Checkpoints written atomically; the oldest removed only after the new one
# is complete (famt_mm/checkpoint.py).
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
