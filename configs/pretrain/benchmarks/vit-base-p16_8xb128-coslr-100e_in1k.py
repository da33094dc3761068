# Fine-tuning of a FAMT / AMT / random MAE or SimMIM ViT-B/16 on
# ImageNet-1K, 100 epochs, layer decay 0.65 (MMPretrain's MAE protocol).
#   --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = 'mmpretrain::mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py'
# atomic checkpoints (SafeCheckpointHook): a kill during a save loses nothing
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
