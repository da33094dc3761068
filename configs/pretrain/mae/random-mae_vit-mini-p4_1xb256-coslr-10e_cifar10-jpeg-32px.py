# Random masking (r=0.75) for the CPU-sized CIFAR-10 reproduction.
_base_ = './famt-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py'
custom_hooks = [dict(type='FAMTHook', mode='random')]
