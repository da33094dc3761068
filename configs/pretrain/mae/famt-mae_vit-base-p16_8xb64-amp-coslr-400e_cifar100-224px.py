# FAMT-MAE pretraining on cifar100 at 224 px, ViT-B/16 (the authors'
# small-data setting); 'mode' in custom_hooks switches random / AMT / FAMT.
_base_ = './famt-mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py'

# MMPretrain's CIFAR sets hold RGB arrays in memory: no loading, no swap.
# CIFAR-100's own statistics, as its benchmark configs (not CIFAR-10's)
data_preprocessor = dict(
    mean=[129.304, 124.070, 112.434], std=[68.170, 65.392, 70.418],
    to_rgb=False)
train_pipeline = [
    dict(type='FAMTRandomResizedCrop', scale=224,
         crop_ratio_range=(0.2, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type='CIFAR100', data_root='data/cifar100/',
                 split='train', pipeline=train_pipeline))
optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 512 / 256))
auto_scale_lr = dict(base_batch_size=512)
# The paper's MAE cadence: 40 of 400 epochs random (r=0.75), then a
# refresh every 40 epochs.
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.1, interval=0.1)
]
