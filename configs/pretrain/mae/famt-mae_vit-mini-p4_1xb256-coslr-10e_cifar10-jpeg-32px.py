# The CPU-sized reproduction (tools/reproduce_cifar10.py, docs/results.md):
# FAMT-MAE from scratch on the CIFAR-10 JPEG copy (32 px, lossy, folder
# layout data/cifar10-jpeg/{train,test}/<class>/*.jpg), 10 epochs, a
# 6-block ViT of ViT-Tiny width. The three modes differ in custom_hooks only.
_base_ = './famt-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py'

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True,
            embed_dims=192,
            num_layers=6,
            num_heads=3,
            feedforward_channels=768)))
data_preprocessor = dict(to_rgb=True)  # JPEGs are loaded BGR
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='FAMTRandomResizedCrop',
        scale=32,
        crop_ratio_range=(0.35, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/cifar10-jpeg/train',
        with_label=False,
        pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=6e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=9, by_epoch=True, begin=1, end=10,
         convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=10)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=1))
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.1, interval=0.1)
]
randomness = dict(seed=0, diff_rank_seed=True)
