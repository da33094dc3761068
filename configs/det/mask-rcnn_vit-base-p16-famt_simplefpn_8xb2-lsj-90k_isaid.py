# iSAID instance segmentation (15 classes, aerial images in 800x800 patches
# made with the iSAID devkit) from a FAMT-MAE ViT-B/16 checkpoint.
_base_ = './mask-rcnn_vit-base-p16-famt_simplefpn_8xb2-lsj-90k_coco.py'

dataset_type = 'iSAIDDataset'
data_root = 'data/iSAID/'
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=15), mask_head=dict(num_classes=15)),
    # up to 1000 small objects per patch
    test_cfg=dict(rcnn=dict(max_per_img=1000)))

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train/instancesonly_filtered_train.json',
        data_prefix=dict(img='train/images/')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val/instancesonly_filtered_val.json',
        data_prefix=dict(img='val/images/')))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'val/instancesonly_filtered_val.json',
    metric=['bbox', 'segm'],
    proposal_nums=(100, 300, 1000))
test_evaluator = val_evaluator
