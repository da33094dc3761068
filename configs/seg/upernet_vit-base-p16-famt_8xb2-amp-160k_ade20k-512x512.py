# ADE20K semantic segmentation, UperNet on a FAMT-MAE ViT-B/16 checkpoint:
# MMSeg's MAE recipe (512x512, 160k iterations, layer decay 0.65).
#   python tools/convert_checkpoint.py PRETRAIN.pth famt_vit-b_seg.pth \
#       --target mmseg --img-size 512
_base_ = 'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py'
checkpoint = 'checkpoints/famt_vit-b_seg.pth'  # the converted backbone
model = dict(pretrained=checkpoint)
# atomic checkpoints (SafeCheckpointHook): a kill during a save loses nothing
custom_imports = dict(imports=['famt_mm'], allow_failed_imports=False)
default_hooks = dict(
    checkpoint=dict(type='mmpretrain.SafeCheckpointHook'))
