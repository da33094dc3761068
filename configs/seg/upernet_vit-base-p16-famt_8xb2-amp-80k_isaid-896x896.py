# iSAID semantic segmentation (15 classes + background, 896x896 patches),
# UperNet on a FAMT-MAE ViT-B/16 checkpoint: MMSeg's iSAID data and 80k
# schedule with the MAE backbone settings of the ADE20K config.
#   python tools/convert_checkpoint.py PRETRAIN.pth famt_vit-b_seg896.pth \
#       --target mmseg --img-size 896
_base_ = [
    'mmseg::_base_/models/upernet_mae.py',
    'mmseg::_base_/datasets/isaid.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (896, 896)
checkpoint = 'checkpoints/famt_vit-b_seg896.pth'  # the converted backbone
model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=checkpoint,
    backbone=dict(
        type='MAE',
        img_size=crop_size,
        patch_size=16,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        mlp_ratio=4,
        init_values=1.0,
        drop_path_rate=0.1,
        out_indices=[3, 5, 7, 11]),
    neck=dict(embed_dim=768, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(
        in_channels=[768, 768, 768, 768], num_classes=16, channels=768),
    auxiliary_head=dict(in_channels=768, num_classes=16),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(512, 512)))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(num_layers=12, layer_decay_rate=0.65),
    constructor='LayerDecayOptimizerConstructor')
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
         end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=80000,
         by_epoch=False)
]
train_dataloader = dict(batch_size=2)
# atomic checkpoints (SafeCheckpointHook): a kill during a save loses nothing
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)
default_hooks = dict(
    checkpoint=dict(type='mmpretrain.SafeCheckpointHook'))
