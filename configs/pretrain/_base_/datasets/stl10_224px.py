# STL-10 at 224 px, the small-data setting: what FAMT pretraining (MAE,
# SimMIM) and its benchmarks (linear, fine-tuning) share; see cifar10_224px.py.
# Folder layout data/stl10/{train,val}/<class>/*.
data_set = dict(
    # ImageNet's mean / std (0-255, RGB): STL-10's images are drawn from
    # ImageNet, and the authors' code normalises every data set with it
    norm=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
              to_rgb=True),  # files decode to BGR
    load=[dict(type='LoadImageFromFile')],
    # pretraining needs no labels: any image under train/ counts
    pretrain=dict(type='CustomDataset', data_root='data/stl10/',
                  data_prefix='train', with_label=False),
    train=dict(type='CustomDataset', data_root='data/stl10/',
               data_prefix='train'),
    test=dict(type='CustomDataset', data_root='data/stl10/',
              data_prefix='val'),
    num_classes=10,
    pad_val=[104, 116, 124])  # RandAugment's fill: the mean, BGR as loaded
