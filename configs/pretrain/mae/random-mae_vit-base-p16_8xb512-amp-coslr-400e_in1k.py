# Random-masking MAE reference (r=0.75, nothing thrown) through the same code
# path as the FAMT configs: numerically MMPretrain's MAE 400e recipe.
_base_ = './famt-mae_vit-base-p16_8xb512-amp-coslr-400e_in1k.py'
custom_hooks = [dict(type='FAMTHook', mode='random')]
