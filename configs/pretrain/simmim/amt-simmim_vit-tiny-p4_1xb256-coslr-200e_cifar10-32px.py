# AMT-SimMIM (attention only) from scratch on CIFAR-10 at 32 px.
_base_ = './famt-simmim_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py'
custom_hooks = [
    dict(type='FAMTHook', mode='attention', warmup_epochs=0.2, interval=0.2)
]
