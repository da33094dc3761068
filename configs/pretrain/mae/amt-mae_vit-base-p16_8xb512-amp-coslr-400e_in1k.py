# AMT-MAE (attention only, no frequency cue): FAMT's ablation / predecessor.
_base_ = './famt-mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py'
custom_hooks = [
    dict(type='FAMTHook', mode='attention', warmup_epochs=0.1, interval=0.1)
]
