# FAMT-MAE from scratch on CIFAR-10 at 32 px: a single GPU trains it in
# minutes. Warm-up 20 epochs, refresh every 20 epochs.
_base_ = [
    '../_base_/models/famt-mae_vit-tiny-p4_32px.py',
    '../_base_/datasets/cifar10_bs256_famt-32px.py',
    '../_base_/schedules/adamw_coslr-200e_mae-32px.py',
    'mmpretrain::_base_/default_runtime.py',
]
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook', interval=10, max_keep_ckpts=3))
# mode: 'famt' | 'attention' (AMT) | 'random' (MAE baseline)
custom_hooks = [
    dict(type='FAMTHook', mode='famt', warmup_epochs=0.1, interval=0.1)
]
randomness = dict(seed=0, diff_rank_seed=True)
