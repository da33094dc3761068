# Fine-tuning of a 32-px CIFAR-10 pretraining: MAE's fine-tuning recipe
# (AdamW, layer decay 0.75, RandAugment, mixup / cutmix, label smoothing,
# 100 epochs) at 32 px, one GPU.
#   --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = './vit-tiny-p4_1xb256-linear-coslr-90e_cifar10-32px.py'
train_pipeline = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.35, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[125, 123, 114], interpolation='bicubic')),
    dict(type='PackInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    backbone=dict(
        frozen_stages=-1,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False),
    neck=None,
    head=dict(
        _delete_=True,
        type='LinearClsHead',
        num_classes=10,
        in_channels=192,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)]),
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-3 * 256 / 256, weight_decay=0.05,
        betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        custom_keys={
            '.ln': dict(decay_mult=0.0),
            '.bias': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=95, by_epoch=True, begin=5,
         end=100, eta_min=1e-6, convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=100)
