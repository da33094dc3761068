# FAMT-SIMMIM pretraining on cifar100 at 224 px, ViT-B/16 (the authors'
# small-data setting); 'mode' in custom_hooks switches AMT / FAMT. For the
# random baseline also set SimMIM's ratio: --cfg-options
# custom_hooks.0.mode=random model.warmup_mask_generator.mask_ratio=0.6
_base_ = './famt-simmim_vit-base-p16_8xb256-amp-coslr-200e_in1k.py'

# MMPretrain's CIFAR sets hold RGB arrays in memory: no loading, no swap.
# CIFAR-100's own statistics, as its benchmark configs (not CIFAR-10's)
data_preprocessor = dict(
    mean=[129.304, 124.070, 112.434], std=[68.170, 65.392, 70.418],
    to_rgb=False)
train_pipeline = [
    dict(type='FAMTRandomResizedCrop', scale=224,
         crop_ratio_range=(0.67, 1.0)),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type='CIFAR100', data_root='data/cifar100/',
                 split='train', pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=2e-4 * 512 / 512))
auto_scale_lr = dict(base_batch_size=512)
# The paper's SimMIM cadence: 40 of 200 epochs random (r=0.44), then a
# refresh every 40 epochs.
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.2, interval=0.2)
]
