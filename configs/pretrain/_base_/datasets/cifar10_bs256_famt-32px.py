# CIFAR-10 at its native 32x32 for FAMT pretraining (MAE and SimMIM).
# MMPretrain's CIFAR10 reads (and downloads) the python-pickle release.
dataset_type = 'CIFAR10'
data_root = 'data/cifar10/'
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=False)
train_pipeline = [
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
    batch_size=256,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
