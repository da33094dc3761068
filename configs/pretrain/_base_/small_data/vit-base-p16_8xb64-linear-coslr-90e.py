# Linear probing at 224 px on a small data set (the paper's small-data
# transfer setting): the ImageNet linear protocol at batch 64 per GPU. A
# config lists it with one of ../datasets/*_224px.py and takes the data set
# from `data_set` (../../benchmarks/*-linear-*_cifar10-224px.py).
_base_ = '../../benchmarks/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'

# after the data set's loading steps
train_pipeline = [
    dict(type='RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs')
]
test_pipeline = [
    dict(type='Resize', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs')
]
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=6.4 * 512 / 16384))
