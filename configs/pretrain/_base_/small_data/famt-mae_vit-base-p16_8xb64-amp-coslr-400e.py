# FAMT-MAE, ViT-B/16 at 224 px on a small data set (the authors' CIFAR-10 /
# CIFAR-100 / STL-10 / Tiny-ImageNet setting): the ImageNet recipe at batch
# 64 per GPU. A config lists it with one of ../datasets/*_224px.py and takes
# the data set from `data_set` (famt-mae_*_cifar10-224px.py shows how).
_base_ = '../../mae/famt-mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py'

# after the data set's loading steps (none for CIFAR's in-memory arrays)
train_pipeline = [
    dict(type='FAMTRandomResizedCrop', scale=224,
         crop_ratio_range=(0.2, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=1.5e-4 * 512 / 256))
auto_scale_lr = dict(base_batch_size=512)
# The paper's MAE cadence: 40 of 400 epochs random (r=0.75), then a
# refresh every 40 epochs; 'mode' switches random / AMT / FAMT.
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.1, interval=0.1)
]
