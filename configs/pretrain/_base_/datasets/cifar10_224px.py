# CIFAR-10 at 224 px, the small-data setting: what FAMT pretraining (MAE,
# SimMIM) and its benchmarks (linear, fine-tuning) share. One key, so that a
# config lists this file beside a full recipe in `_base_` (MMEngine refuses
# a key that two bases define) and reads it as `_base_.data_set`.
data_set = dict(
    # the training set's per-channel mean / std (0-255, RGB), MMPretrain's
    norm=dict(mean=[125.307, 122.961, 113.8575], std=[51.5865, 50.847, 51.255],
              to_rgb=False),  # MMPretrain's CIFAR10 yields RGB arrays
    load=[],  # arrays held in memory: nothing to load or decode
    pretrain=dict(type='CIFAR10', data_root='data/cifar10/', split='train'),
    train=dict(type='CIFAR10', data_root='data/cifar10/', split='train'),
    test=dict(type='CIFAR10', data_root='data/cifar10/', split='test'),
    num_classes=10,
    pad_val=[125, 123, 114])  # RandAugment's fill: the mean, as the images
