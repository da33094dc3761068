# Fine-tuning on CIFAR-10 resized to 224 px: the ImageNet fine-tuning
# protocol (RandAugment, mixup/cutmix, layer decay 0.65) on CIFAR10.
_base_ = './vit-base-p16_8xb128-coslr-100e_in1k.py'
dataset_type = 'CIFAR10'
data_root = 'data/cifar10/'
num_classes = 10
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=False)
train_pipeline = [
    dict(type='RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandAugment', policies='timm_increasing', num_policies=2,
         total_level=10, magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[125, 123, 114], interpolation='bicubic')),
    dict(type='PackInputs')
]
test_pipeline = [
    dict(type='Resize', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, type=dataset_type, data_root=data_root,
                 split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
model = dict(head=dict(num_classes=num_classes))
optim_wrapper = dict(optimizer=dict(lr=2e-3 * 512 / 1024))
