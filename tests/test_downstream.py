"""Pretrain -> convert -> Mask R-CNN / UperNet, on real data where present."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import famt_mm  # noqa: F401
from famt_mm.utils.convert import CheckpointError, convert
from .conftest import CONFIGS, ROOT, shared_dataset

EMBED = 32
DET = 'mask-rcnn_vit-base-p16-famt_simplefpn_8xb2-lsj-'
DET_CFG = osp.join(CONFIGS, 'det', DET + '90k_coco.py')
LVIS_CFG = osp.join(CONFIGS, 'det', DET + 'sample1e-3-75k_lvis-v1.py')
ISAID_CFG = osp.join(CONFIGS, 'det', DET + '90k_isaid.py')
SEG_CFG = osp.join(CONFIGS, 'seg',
                   'upernet_vit-base-p16-famt_8xb2-amp-160k_ade20k-512x512.py')
MAE_CFG = osp.join(CONFIGS, 'pretrain', 'mae',
                   'famt-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py')


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    """A FAMT-MAE checkpoint (tiny ViT, patch 16, 64 px) as MMEngine's
    CheckpointHook writes it."""
    from mmengine.runner.checkpoint import save_checkpoint
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(MAE_CFG)
    cfg.model.backbone.update(
        arch=dict(embed_dims=EMBED, num_layers=4, num_heads=2,
                  feedforward_channels=4 * EMBED),
        img_size=64, patch_size=16)
    cfg.model.neck.update(num_patches=16, patch_size=16, embed_dim=EMBED,
                          decoder_embed_dim=16, decoder_depth=1,
                          decoder_num_heads=2)
    cfg.model.head.patch_size = 16
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():  # as after training: no tensor left at its init
        for tensor in model.state_dict().values():
            tensor.add_(torch.rand_like(tensor) * 0.1)
    path = str(tmp_path_factory.mktemp('pretrain') / 'epoch_1.pth')
    save_checkpoint(dict(meta=dict(epoch=1), state_dict=model.state_dict()),
                    path)
    return path


def converted(src, target, tmp_path, *img_size):
    dst = str(tmp_path / f'{target}.pth')
    out = subprocess.run([
        sys.executable, osp.join(ROOT, 'tools', 'convert_checkpoint.py'), src,
        dst, '--target', target, *(['--img-size', *map(str, img_size)]
                                   if img_size else [])
    ], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return dst, out.stdout


# ------------------------------------------------------------------ convert
def test_converter_reports_and_resizes(pretrained, tmp_path):
    _, report = converted(pretrained, 'mmdet', tmp_path, 128)
    # 4 blocks x 12 tensors + patch_embed (2) + pos_embed
    assert 'mapped 51 tensors for mmdet' in report
    assert "['mask_token', 'ln1.weight', 'ln1.bias', 'cls_token']" in \
        report or "'cls_token'" in report
    assert '(1, 17, 32) -> (1, 64, 32)' in report  # 4x4+cls -> 8x8
    ckpt = torch.load(tmp_path / 'mmdet.pth')
    assert 'cls_token' not in ckpt['state_dict']


def test_converter_vitdet_layout(pretrained):
    out, _ = convert(torch.load(pretrained), 'vitdet')
    keys = set(out['model'])
    assert {'patch_embed.proj.weight', 'blocks.0.norm1.weight',
            'blocks.0.attn.qkv.weight', 'blocks.0.mlp.fc1.weight',
            'blocks.3.mlp.fc2.bias', 'norm.weight', 'pos_embed',
            'cls_token'} <= keys
    assert not any(k.startswith(('layers.', 'backbone.')) for k in keys)


@pytest.mark.parametrize('make,match', [
    (lambda sd: {'model': {}}, "official MAE / timm checkpoint"),
    (lambda sd: [1, 2], 'not an MMPretrain checkpoint'),
    (lambda sd: {'state_dict': {**{k: v for k, v in sd.items()
                                   if not k.startswith('neck.')},
                                'head.fc.weight': torch.zeros(1)}},
     "not a masked-image-modeling.*'head'"),
    (lambda sd: {'state_dict': {'backbone.stages.0.x': torch.zeros(1),
                                'neck.decoder.0.weight': torch.zeros(1)}},
     'Swin backbone'),
    (lambda sd: {'state_dict': {'neck.decoder.0.weight': torch.zeros(1)}},
     'no MMPretrain ViT backbone'),
    # a Mask R-CNN: ViT backbone, an FPN 'neck', detection heads
    (lambda sd: {'state_dict': {
        **{k: v for k, v in sd.items() if k.startswith('backbone.')},
        'neck.lateral_convs.0.conv.weight': torch.zeros(1),
        'rpn_head.rpn_conv.weight': torch.zeros(1),
        'roi_head.bbox_head.fc_cls.weight': torch.zeros(1)}},
     r"detector checkpoint \(it has \['roi_head', 'rpn_head'\]\)"),
    # the same without heads: a neck is not a MIM decoder
    (lambda sd: {'state_dict': {
        **{k: v for k, v in sd.items() if k.startswith('backbone.')},
        'neck.lateral_convs.0.conv.weight': torch.zeros(1)}},
     'not a masked-image-modeling'),
    (lambda sd: {'state_dict': {
        **{k: v for k, v in sd.items() if k.startswith('backbone.')},
        'decode_head.conv_seg.weight': torch.zeros(1)}},
     'segmentor checkpoint'),
])
def test_converter_refuses_other_checkpoints(pretrained, make, match):
    state = torch.load(pretrained)['state_dict']
    with pytest.raises(CheckpointError, match=match):
        convert(make(state), 'mmdet')


def test_converter_cli_fails_cleanly(tmp_path):
    bad = tmp_path / 'cls.pth'
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(1)}}, bad)
    out = subprocess.run([
        sys.executable, osp.join(ROOT, 'tools', 'convert_checkpoint.py'),
        str(bad), str(tmp_path / 'x.pth'), '--target', 'mmseg'
    ], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1 and out.stderr.startswith('error: ')
    assert not (tmp_path / 'x.pth').exists()


def test_converter_cli_input_faults(pretrained, tmp_path):
    def cli(src, dst, *extra):
        out = subprocess.run([
            sys.executable, osp.join(ROOT, 'tools', 'convert_checkpoint.py'),
            str(src), str(dst), '--target', 'mmdet', *extra
        ], capture_output=True, text=True, cwd=ROOT)
        last = out.stderr.strip().splitlines()[-1]
        return out.returncode, last

    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(open(pretrained, 'rb').read()[:500])
    text = tmp_path / 'notes.pth'
    text.write_text('not a checkpoint')
    for src in (tmp_path / 'missing.pth', empty, truncated, text):
        code, last = cli(src, tmp_path / 'out.pth')
        assert code == 1 and last.startswith(f'error: cannot load {src}')
    # converting in place would destroy the pretraining checkpoint
    before = open(pretrained, 'rb').read()
    code, last = cli(pretrained, pretrained)
    assert code == 1 and 'dst is the source checkpoint' in last
    assert open(pretrained, 'rb').read() == before
    code, last = cli(pretrained, tmp_path / 'out.pth', '--img-size', '0')
    assert code == 1 and last == 'error: img_size (0, 0) must be positive'
    assert not (tmp_path / 'out.pth').exists()


# ------------------------------------------------------------ loading tests
def tiny_det_cfg(config, work_dir, checkpoint):
    cfg = Config.fromfile(config)
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.update(
        arch=dict(embed_dims=EMBED, num_layers=4, num_heads=2,
                  feedforward_channels=4 * EMBED),
        img_size=(128, 128), window_size=4, global_indexes=(1, 3),
        init_cfg=dict(checkpoint=checkpoint))
    cfg.model.neck.backbone_channel = EMBED
    cfg.model.data_preprocessor.batch_augments[0].size = (128, 128)
    # An untrained model detects something with score_thr 0; a few boxes
    # and proposals keep mask pasting and evaluation fast.
    cfg.model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=10)
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    cfg.model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
    cfg.model.train_cfg.rpn.sampler.num = 64
    cfg.model.train_cfg.rcnn.sampler.num = 32  # RoIs per image (512)
    return cfg


def changed_tensors(module, init):
    before = {k: v.clone() for k, v in module.state_dict().items()}
    init()
    after = module.state_dict()
    return {k for k in before if not torch.equal(before[k], after[k])}, \
        set(before)


def test_converted_checkpoint_loads_into_every_det_backbone_tensor(
        pretrained, tmp_path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    ckpt, _ = converted(pretrained, 'mmdet', tmp_path, 128)
    cfg = tiny_det_cfg(DET_CFG, tmp_path, ckpt)
    backbone = MODELS.build(cfg.model.backbone)
    changed, every = changed_tensors(backbone, backbone.init_weights)
    assert changed == every  # a silent non-load would change nothing
    source = torch.load(ckpt)['state_dict']
    for key in every:
        torch.testing.assert_close(backbone.state_dict()[key], source[key])


def test_converted_checkpoint_loads_into_every_seg_backbone_tensor(
        pretrained, tmp_path):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    ckpt, _ = converted(pretrained, 'mmseg', tmp_path, 64)
    cfg = tiny_seg_cfg(tmp_path, ckpt, data_root=None)
    model = MODELS.build(cfg.model)
    backbone = model.backbone
    changed, every = changed_tensors(backbone, backbone.init_weights)
    # MAE has no layer scale and no relative position bias: MMSeg keeps
    # them at identity (gamma = 1) and zero.
    not_in_mae = {k for k in every
                  if k.endswith(('gamma_1', 'gamma_2',
                                 'relative_position_bias_table',
                                 'relative_position_index'))}
    assert changed == every - not_in_mae
    source = torch.load(ckpt)['state_dict']
    torch.testing.assert_close(backbone.state_dict()['pos_embed'],
                               source['pos_embed'])


def test_unconverted_checkpoint_loads_nothing_into_mmseg(pretrained,
                                                         tmp_path):
    """The trap the converter exists for."""
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = tiny_seg_cfg(tmp_path, pretrained, data_root=None)
    backbone = MODELS.build(cfg.model).backbone
    torch.manual_seed(1)
    changed, _ = changed_tensors(backbone, backbone.init_weights)
    source = torch.load(pretrained)['state_dict']
    assert not torch.equal(backbone.state_dict()['layers.0.attn.qkv.weight'],
                           source['backbone.layers.0.attn.qkv.weight'])


# --------------------------------------------------------- real data runs
def coco_mini_cfg(work_dir, checkpoint, config=DET_CFG):
    root = shared_dataset('coco-mini')
    cfg = tiny_det_cfg(config, work_dir, checkpoint)
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs')
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor'))
    ]
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.update(
        data_root=root + '/', indices=8, pipeline=train_pipeline)
    for loader in ('val_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False)
        cfg[loader].dataset.update(data_root=root + '/', indices=6,
                                   pipeline=test_pipeline)
    cfg.val_evaluator.ann_file = osp.join(root, 'annotations',
                                          'instances_val2017.json')
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg.update(max_iters=4, val_interval=100)  # validated below
    cfg.param_scheduler = []
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 4
    cfg.optim_wrapper.type = 'OptimWrapper'  # AMP is for GPUs
    cfg.log_level = 'WARNING'
    return cfg


def test_mask_rcnn_trains_and_evaluates_on_coco_mini(pretrained, tmp_path):
    ckpt, _ = converted(pretrained, 'mmdet', tmp_path, 128)
    cfg = coco_mini_cfg(tmp_path, ckpt)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert np.isfinite(runner.message_hub.get_scalar('train/loss').current())
    metrics = runner.val_loop.run()
    for key in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert key in metrics and 0 <= metrics[key] <= 1


def lvis_and_isaid_data(tmp_path, photos_dir, classes, lvis):
    """A tiny data set in LVIS or iSAID (COCO) format: two photos, one
    polygon each, every class listed."""
    from PIL import Image
    images, annotations = [], []
    for i, name in enumerate(('astronaut', 'coffee'), start=1):
        img = Image.open(osp.join(photos_dir, f'{name}.png')).convert('RGB')
        img = img.resize((128, 128))
        (tmp_path / 'train2017').mkdir(exist_ok=True)
        img.save(tmp_path / 'train2017' / f'{i:012d}.jpg')
        info = dict(id=i, width=128, height=128)
        if lvis:
            info.update(coco_url='http://images.cocodataset.org/train2017/'
                        f'{i:012d}.jpg', neg_category_ids=[],
                        not_exhaustive_category_ids=[])
        else:
            info.update(file_name=f'{i:012d}.jpg')
        images.append(info)
        x, y = 20 + 10 * i, 30
        annotations.append(
            dict(id=i, image_id=i, category_id=i, bbox=[x, y, 40, 50],
                 area=2000, iscrowd=0, segmentation=[[
                     x, y, x + 40, y, x + 40, y + 50, x, y + 50]]))
    categories = [
        dict(id=i + 1, name=c, frequency='f', image_count=1, synset=c)
        for i, c in enumerate(classes)
    ]
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(dict(images=images, annotations=annotations,
                                    categories=categories)))
    return str(path)


@pytest.mark.parametrize('config,lvis', [(LVIS_CFG, True),
                                         (ISAID_CFG, False)])
def test_lvis_and_isaid_configs_run_one_iteration(pretrained, tmp_path,
                                                  photos_dir, config, lvis):
    from mmdet.datasets import LVISV1Dataset, iSAIDDataset
    classes = (LVISV1Dataset if lvis else iSAIDDataset).METAINFO['classes']
    ann = lvis_and_isaid_data(tmp_path, photos_dir, classes, lvis)
    ckpt, _ = converted(pretrained, 'mmdet', tmp_path, 128)
    cfg = tiny_det_cfg(config, tmp_path, ckpt)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='PackDetInputs')
    ]
    inner = cfg.train_dataloader.dataset
    inner = inner.dataset if lvis else inner
    prefix = dict(img='' if lvis else 'train2017/')
    inner.update(data_root=str(tmp_path) + '/', ann_file=ann,
                 data_prefix=prefix, pipeline=pipeline)
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    test_pipeline = pipeline[:1] + pipeline[2:3] + pipeline[1:2] + [
        dict(type='PackDetInputs',
             meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                        'scale_factor'))
    ]
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.update(
        data_root=str(tmp_path) + '/', ann_file=ann, data_prefix=prefix,
        pipeline=test_pipeline)
    cfg.val_evaluator.ann_file = ann
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg.update(max_iters=1, val_interval=100)  # validated below
    cfg.param_scheduler = []
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.default_hooks.checkpoint.interval = 1
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    prefix = 'lvis' if lvis else 'coco'
    assert f'{prefix}/bbox_AP' in metrics or f'{prefix}/bbox_mAP' in metrics


def tiny_seg_cfg(work_dir, checkpoint, data_root):
    cfg = Config.fromfile(SEG_CFG)
    cfg.work_dir = str(work_dir)
    crop = (64, 64)
    cfg.model.pretrained = checkpoint
    cfg.model.data_preprocessor.size = crop
    cfg.model.backbone.update(img_size=crop, embed_dims=EMBED, num_layers=4,
                              num_heads=2, out_indices=[0, 1, 2, 3])
    cfg.model.neck.embed_dim = EMBED
    cfg.model.decode_head.update(in_channels=[EMBED] * 4, channels=EMBED,
                                 norm_cfg=dict(type='BN', requires_grad=True))
    cfg.model.auxiliary_head.update(
        in_channels=EMBED, channels=EMBED,
        norm_cfg=dict(type='BN', requires_grad=True))
    cfg.model.test_cfg = dict(mode='whole')
    if data_root is None:
        return cfg
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='RandomResize', scale=(128, 64), ratio_range=(0.5, 2.0),
             keep_ratio=True),
        dict(type='RandomCrop', crop_size=crop, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=crop, keep_ratio=False),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')
    ]
    split = dict(img_path='images/validation',
                 seg_map_path='annotations/validation')
    cfg.train_dataloader.update(batch_size=2, num_workers=0,
                                persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=data_root,
                                        data_prefix=split,
                                        pipeline=train_pipeline)
    for loader in ('val_dataloader', 'test_dataloader'):
        cfg[loader].update(num_workers=0, persistent_workers=False)
        cfg[loader].dataset.update(data_root=data_root, data_prefix=split,
                                   pipeline=test_pipeline)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.param_scheduler = []
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.log_level = 'WARNING'
    return cfg


def test_upernet_trains_and_evaluates_on_ade20k_samples(pretrained,
                                                        tmp_path):
    root = osp.join(shared_dataset('ade20k-sample'), 'ADEChallengeData2016')
    ckpt, _ = converted(pretrained, 'mmseg', tmp_path, 64)
    cfg = tiny_seg_cfg(tmp_path, ckpt, root)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert np.isfinite(runner.message_hub.get_scalar('train/loss').current())
    metrics = runner.val_loop.run()
    assert 0 <= metrics['mIoU'] <= 100
