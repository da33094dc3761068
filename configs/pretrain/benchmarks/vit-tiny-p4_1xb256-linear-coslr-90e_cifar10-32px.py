# Linear probing of a 32-px CIFAR-10 pretraining (configs/pretrain/*/
# *_vit-tiny-p4_*_cifar10-32px.py): MAE's protocol ([CLS] token, BatchNorm
# without affine, linear head, LARS, 90 epochs) at 32 px, one GPU.
#   --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = [
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)
train_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.35, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=256, drop_last=True, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='deit-tiny',
        img_size=32,
        patch_size=4,
        frozen_stages=12,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(type='Pretrained', checkpoint='', prefix='backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=192),
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=10,
        in_channels=192,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.1 * 256 / 256, weight_decay=0.0,
                   momentum=0.9))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=10,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=80, by_epoch=True, begin=10,
         end=90, eta_min=0.0, convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=10)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=1))
randomness = dict(seed=0)
