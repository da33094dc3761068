# AMT (attention only) for the CPU-sized CIFAR-10 reproduction.
_base_ = './famt-mae_vit-mini-p4_1xb256-coslr-10e_cifar10-jpeg-32px.py'
custom_hooks = [
    dict(type='FAMTHook', mode='attention', warmup_epochs=0.1, interval=0.1)
]
