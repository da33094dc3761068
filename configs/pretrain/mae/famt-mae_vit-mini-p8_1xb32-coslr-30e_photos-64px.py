# The embedded demo: FAMT-MAE on the photos scikit-image ships (written to
# data_root by tools/demo.py), 64-px random crops, a 4-layer ViT with 8-px
# patches (8x8 grid). A few minutes on 2 CPU cores; refreshes before epochs
# 6, 12, 18 and 24.
_base_ = [
    '../_base_/models/famt-mae_vit-tiny-p4_32px.py',
    '../_base_/schedules/adamw_coslr-200e_mae-32px.py',
    'mmpretrain::_base_/default_runtime.py',
]
arch = dict(
    _delete_=True, embed_dims=128, num_layers=4, num_heads=4,
    feedforward_channels=256)
model = dict(
    backbone=dict(arch=arch, img_size=64, patch_size=8),
    neck=dict(
        num_patches=64, patch_size=8, embed_dim=128, decoder_embed_dim=64,
        decoder_depth=1, decoder_num_heads=4),
    head=dict(patch_size=8))

data_root = 'work_dirs/famt_demo/photos'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='FAMTRandomResizedCrop',
        scale=64,
        crop_ratio_range=(0.3, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='RepeatDataset',
        times=96,  # 96 random crops of every photo per epoch
        dataset=dict(
            type='CustomDataset',
            data_root=data_root,
            with_label=False,
            pipeline=train_pipeline)))

optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=3,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=27, by_epoch=True, begin=3, end=30,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=24),
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=1))
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.2, interval=0.2)
]
randomness = dict(seed=0, diff_rank_seed=True)
