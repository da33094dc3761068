# FAMT-MAE pretraining at 224 px, ViT-B/16 (the authors' small-data
# setting) on the data set in _base_; 'mode' in custom_hooks switches
# random / AMT / FAMT.
_base_ = [
    '../_base_/small_data/famt-mae_vit-base-p16_8xb64-amp-coslr-400e.py',
    '../_base_/datasets/cifar100_224px.py'
]
data_preprocessor = _base_.data_set.norm
train_dataloader = dict(
    dataset=dict(_delete_=True, **_base_.data_set.pretrain,
                 pipeline=_base_.data_set.load + _base_.train_pipeline))
