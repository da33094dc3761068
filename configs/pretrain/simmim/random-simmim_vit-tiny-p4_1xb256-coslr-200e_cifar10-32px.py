# Random-masking SimMIM (r=0.6) from scratch on CIFAR-10 at 32 px.
_base_ = './famt-simmim_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py'
model = dict(warmup_mask_generator=dict(mask_ratio=0.6))  # SimMIM's own
custom_hooks = [dict(type='FAMTHook', mode='random')]
