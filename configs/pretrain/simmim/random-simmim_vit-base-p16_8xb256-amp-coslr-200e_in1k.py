# Random-masking SimMIM reference (r=0.6 in 32x32 blocks, nothing thrown),
# ViT-B/16, through the same code path as the FAMT configs.
_base_ = './famt-simmim_vit-base-p16_8xb256-amp-coslr-200e_in1k.py'
model = dict(warmup_mask_generator=dict(mask_ratio=0.6))  # SimMIM's own
custom_hooks = [dict(type='FAMTHook', mode='random')]
