# Mask R-CNN with a plain ViT-B/16 (ViTDet style: window attention, 4 global
# blocks) and a simple feature pyramid, on MMDet's Mask R-CNN base.
_base_ = 'mmdet::_base_/models/mask-rcnn_r50_fpn.py'
custom_imports = dict(imports=['famt_mm.det'], allow_failed_imports=False)

head_norm_cfg = dict(type='LN2d', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=32,
        batch_augments=[
            dict(type='BatchFixedSizePad', size=(1024, 1024), pad_mask=True)
        ]),
    backbone=dict(
        _delete_=True,
        type='WindowViT',
        arch='base',
        img_size=(1024, 1024),
        patch_size=16,
        drop_path_rate=0.1,
        window_size=14,
        global_indexes=(2, 5, 8, 11),
        # set by the top-level config: a tools/convert_checkpoint.py output
        init_cfg=dict(type='Pretrained', checkpoint=None)),
    neck=dict(
        _delete_=True,
        type='SimpleFPN',
        backbone_channel=768,
        out_channels=256,
        num_outs=5),
    rpn_head=dict(num_convs=2),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=head_norm_cfg),
        mask_head=dict(norm_cfg=head_norm_cfg)))
