# Fine-tuning at 224 px (the paper's small-data transfer setting).
#   --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = [
    '../_base_/small_data/vit-base-p16_8xb64-coslr-100e.py',
    '../_base_/datasets/cifar100_224px.py'
]
data_set = _base_.data_set
data_preprocessor = dict(num_classes=data_set.num_classes, **data_set.norm)
train_pipeline = data_set.load + _base_.train_pipeline
train_pipeline[-2].hparams.pad_val = data_set.pad_val  # RandAugment's fill
train_dataloader = dict(
    dataset=dict(_delete_=True, **data_set.train, pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(_delete_=True, **data_set.test,
                 pipeline=data_set.load + _base_.test_pipeline))
test_dataloader = val_dataloader
model = dict(head=dict(num_classes=data_set.num_classes))
