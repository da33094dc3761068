# Random-masking MAE (r=0.75) from scratch on CIFAR-10 at 32 px: the
# reference for the FAMT / AMT configs beside it.
_base_ = './famt-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py'
custom_hooks = [dict(type='FAMTHook', mode='random')]
