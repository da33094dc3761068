# CIFAR-100 at 224 px, the small-data setting: what FAMT pretraining (MAE,
# SimMIM) and its benchmarks (linear, fine-tuning) share; see cifar10_224px.py.
data_set = dict(
    # the training set's per-channel mean / std (0-255, RGB), MMPretrain's
    norm=dict(mean=[129.304, 124.070, 112.434], std=[68.170, 65.392, 70.418],
              to_rgb=False),  # MMPretrain's CIFAR100 yields RGB arrays
    load=[],  # arrays held in memory: nothing to load or decode
    pretrain=dict(type='CIFAR100', data_root='data/cifar100/', split='train'),
    train=dict(type='CIFAR100', data_root='data/cifar100/', split='train'),
    test=dict(type='CIFAR100', data_root='data/cifar100/', split='test'),
    num_classes=100,
    pad_val=[129, 124, 112])  # RandAugment's fill: the mean, as the images
