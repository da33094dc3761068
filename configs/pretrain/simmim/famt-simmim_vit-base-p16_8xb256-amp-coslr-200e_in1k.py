# FAMT-SimMIM, ViT-B/16, ImageNet-1K, 224 px, 200 epochs (the paper's SimMIM
# setting). Optimiser and schedule are MMPretrain's SimMIM recipe; the
# backbone is a ViT with a mask token whose encoder drops thrown patches.
_base_ = ('mmpretrain::simmim/'
          'simmim_swin-base-w6_8xb256-amp-coslr-100e_in1k-192px.py')
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)

model = dict(
    type='FAMTSimMIM',
    backbone=dict(
        _delete_=True,
        type='FAMTSimMIMViT',
        arch='base',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        init_cfg=[
            dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
            dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.)
        ]),
    neck=dict(type='SimMIMLinearDecoder', in_channels=768, encoder_stride=16),
    head=dict(type='SimMIMHead', patch_size=16),
    # masks 32x32 blocks (2x2 patches), counts rounded up as SimMIM and the
    # authors' SimMIM-AMT: 22 masked, 13 thrown, 14 visible of 49 units
    mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.44, throw_ratio=0.26,
        mask_unit=2,
        rounding='ceil'),
    # warm-up: random masking at the AMT ratio, nothing thrown, as the
    # authors' main_simmim.py (the random baseline, random-simmim_*, keeps
    # SimMIM's own r=0.6)
    warmup_mask_generator=dict(
        type='FAMTMaskGenerator', mask_ratio=0.44, throw_ratio=0.0,
        mask_unit=2,
        rounding='ceil'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='FAMTRandomResizedCrop', scale=224,
         crop_ratio_range=(0.67, 1.0)),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'ln': dict(decay_mult=0.0),
            'bias': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.),
            'mask_token': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / 2e-4, by_epoch=True, begin=0,
         end=10, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=190, eta_min=1e-5 * 2048 / 512,
         by_epoch=True, begin=10, end=200, convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)

# mode: 'famt' | 'attention' (AMT); the random baseline (r=0.6) is
# random-simmim_*. Warm-up 40 epochs (20%), then a refresh every 40 epochs:
# the paper's SimMIM cadence (4 refreshes in 200 epochs).
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.2, interval=0.2)
]
# Different mask noise on every rank (MMEngine seeds rank k with seed + k).
randomness = dict(seed=0, diff_rank_seed=True)
# Checkpoints written atomically; the oldest removed only after the new one
# is complete (famt_mm/checkpoint.py).
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
