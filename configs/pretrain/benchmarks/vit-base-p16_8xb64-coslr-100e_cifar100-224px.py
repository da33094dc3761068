# Fine-tuning on CIFAR-100 at 224 px (the paper's small-data transfer
# setting).
_base_ = './vit-base-p16_8xb64-coslr-100e_cifar10-224px.py'
num_classes = 100
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418])
cifar100 = dict(type='CIFAR100', data_root='data/cifar100/')
train_dataloader = dict(dataset=cifar100)
val_dataloader = dict(dataset=cifar100)
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=num_classes))
