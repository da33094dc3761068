# Linear probing of a FAMT / AMT / random MAE or SimMIM ViT-B/16 on
# ImageNet-1K: frozen encoder, [CLS] token, BatchNorm (no affine) + linear
# head, LARS, 90 epochs (MMPretrain's MAE protocol, the paper's).
#   --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN.pth
_base_ = ('mmpretrain::mae/benchmarks/'
          'vit-base-p16_8xb2048-linear-coslr-90e_in1k.py')
# atomic checkpoints (SafeCheckpointHook): a kill during a save loses nothing
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='SafeCheckpointHook'))
