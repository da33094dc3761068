# FAMT-SimMIM, ViT-B/16 at 224 px on a small data set (the authors' CIFAR-10
# / CIFAR-100 / STL-10 / Tiny-ImageNet setting): the ImageNet recipe at batch
# 64 per GPU. A config lists it with one of ../datasets/*_224px.py and takes
# the data set from `data_set` (famt-simmim_*_cifar10-224px.py shows how).
_base_ = '../../simmim/famt-simmim_vit-base-p16_8xb256-amp-coslr-200e_in1k.py'

# after the data set's loading steps (none for CIFAR's in-memory arrays)
train_pipeline = [
    dict(type='FAMTRandomResizedCrop', scale=224,
         crop_ratio_range=(0.67, 1.0)),
    dict(type='FAMTRandomFlip', prob=0.5),
    dict(type='LoadFAMTWeights'),
    dict(type='PackInputs', algorithm_keys=['famt_weights'])
]
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=2e-4 * 512 / 512))
auto_scale_lr = dict(base_batch_size=512)
# The paper's SimMIM cadence: 40 of 200 epochs random (r=0.44), then a
# refresh every 40 epochs; 'mode' switches AMT / FAMT. For the random
# baseline also set SimMIM's ratio: --cfg-options custom_hooks.0.mode=random
# model.warmup_mask_generator.mask_ratio=0.6
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.2, interval=0.2)
]
