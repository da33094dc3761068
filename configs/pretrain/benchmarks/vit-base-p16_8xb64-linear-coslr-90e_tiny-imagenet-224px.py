# Linear probing on Tiny-ImageNet (200 classes, 64 px images) at 224 px:
# the STL-10 setting on data/tiny-imagenet-200/{train,val}/<class>/*.
_base_ = './vit-base-p16_8xb64-linear-coslr-90e_stl10-224px.py'
num_classes = 200
data_root = 'data/tiny-imagenet-200/'
data_preprocessor = dict(num_classes=num_classes)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=num_classes))
