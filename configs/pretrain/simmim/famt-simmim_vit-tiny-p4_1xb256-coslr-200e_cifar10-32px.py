# FAMT-SimMIM from scratch on CIFAR-10 at 32 px (single GPU, minutes).
_base_ = [
    '../_base_/models/famt-simmim_vit-tiny-p4_32px.py',
    '../_base_/datasets/cifar10_bs256_famt-32px.py',
    '../_base_/schedules/adamw_coslr-200e_mae-32px.py',
    'mmpretrain::_base_/default_runtime.py',
]
optim_wrapper = dict(
    optimizer=dict(lr=5e-4, betas=(0.9, 0.999)), clip_grad=dict(max_norm=5.0))
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
# warm-up at the AMT ratio, as the ViT-B recipe; random-simmim_* keeps 0.6
model = dict(warmup_mask_generator=dict(mask_ratio=0.44))
# mode: 'famt' | 'attention' (AMT); SimMIM's cadence: 20% warm-up, a refresh
# every 20%
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.2, interval=0.2)
]
randomness = dict(seed=0, diff_rank_seed=True)
