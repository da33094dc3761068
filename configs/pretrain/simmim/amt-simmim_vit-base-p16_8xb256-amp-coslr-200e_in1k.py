# AMT-SimMIM (attention only), ViT-B/16, ImageNet-1K, 200 epochs.
_base_ = './famt-simmim_vit-base-p16_8xb256-amp-coslr-200e_in1k.py'
custom_hooks = [
    dict(type='FAMTHook', mode='attention', warmup_epochs=0.2, interval=0.2)
]
