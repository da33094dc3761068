# COCO instance segmentation from a FAMT-MAE ViT-B/16 checkpoint, 90k
# iterations (the paper's setting), large-scale jitter at 1024 px.
#   python tools/convert_checkpoint.py PRETRAIN.pth famt_vit-b_det.pth \
#       --target mmdet --img-size 1024
_base_ = [
    './_base_/mask-rcnn_vit-base-p16_simplefpn.py',
    'mmdet::common/lsj-100e_coco-instance.py',
]
checkpoint = 'checkpoints/famt_vit-b_det.pth'  # the converted backbone
model = dict(backbone=dict(init_cfg=dict(checkpoint=checkpoint)))

train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(  # the LSJ data set, without the epoch RepeatDataset
        _delete_=True,
        type='CocoDataset',
        data_root='data/coco/',
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))

# AdamW with layer-wise lr decay 0.7 over the 12 ViT blocks (ViTDet's).
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1),
    paramwise_cfg=dict(
        layer_decay_rate=0.7,
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.),
            '.bias': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            '.ln': dict(decay_mult=0.),
        }))

max_iters = 90000
train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=max_iters,
    val_interval=10000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
         end=1000),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[60000, 80000], gamma=0.1)
]
default_hooks = dict(
    checkpoint=dict(type='mmpretrain.SafeCheckpointHook', by_epoch=False,
                    interval=10000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=16)
