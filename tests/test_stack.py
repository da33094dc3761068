"""The OpenMMLab stack on torch 2.14 works for real, not just imports."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from .conftest import CONFIGS, ROOT


def test_roi_align_matches_hand_computation():
    from mmcv.ops import roi_align

    # f(y, x) = 4y + x is linear, so bilinear sampling is exact and each
    # bin's average is f at the bin centre (aligned: pixel centres at +0.5).
    feat = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])  # batch idx, x1, y1, x2, y2
    out = roi_align(feat, rois, (2, 2), 1.0, 2, 'avg', True)
    # bin centres x, y in {1, 3} -> sample coords {0.5, 2.5}
    expected = torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]])
    torch.testing.assert_close(out, expected)


def test_nms_matches_hand_computation():
    from mmcv.ops import nms

    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    # IoU(box0, box1) = 81 / 119 = 0.68 > 0.5: box1 is suppressed.
    dets, keep = nms(boxes, scores, 0.5)
    assert keep.tolist() == [0, 2]
    _, keep = nms(boxes, scores, 0.7)
    assert keep.tolist() == [0, 1, 2]


def test_components_found_through_custom_imports():
    """A fresh interpreter that never imports famt_mm itself builds the
    FAMT model and hook from a project config."""
    code = f'''
from mmengine.config import Config
from mmpretrain.registry import HOOKS, MODELS
from mmpretrain.utils import register_all_modules
import sys
assert 'famt_mm' not in sys.modules
cfg = Config.fromfile({osp.join(CONFIGS, "pretrain", "mae",
                       "famt-mae_vit-tiny-p4_1xb256-coslr-200e_cifar10-32px.py")!r})
assert 'famt_mm' in sys.modules  # custom_imports did it
register_all_modules()
model = MODELS.build(cfg.model)
hook = HOOKS.build(cfg.custom_hooks[0])
print(type(model).__name__, type(hook).__name__)
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ['FAMTMAE', 'FAMTHook']


def test_mask_rcnn_builds_and_runs_forward():
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    from mmengine.hub import get_config
    register_all_modules()
    cfg = get_config('mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.depth = 18
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    model = MODELS.build(cfg.model).eval()
    sample = DetDataSample(metainfo=dict(
        img_shape=(96, 128), ori_shape=(96, 128), scale_factor=(1., 1.),
        pad_shape=(96, 128), batch_input_shape=(96, 128)))
    with torch.no_grad():
        feats = model(torch.rand(1, 3, 96, 128), [sample], mode='tensor')
        results = model(torch.rand(1, 3, 96, 128), [sample], mode='predict')
    assert feats and all(torch.is_tensor(t) for t in feats[0])
    assert results[0].pred_instances.bboxes.shape[1] == 4


def test_upernet_builds_and_runs_forward():
    from mmengine.hub import get_config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = get_config(
        'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py')
    cfg.model.pretrained = None
    cfg.model.backbone.update(img_size=(64, 64), num_layers=4,
                              out_indices=[0, 1, 2, 3])
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert out.shape == (1, 150, 16, 16)


def test_lvis_evaluates_a_tiny_result(tmp_path):
    import famt_mm.compat
    famt_mm.compat.lvis_numpy2()
    from lvis import LVIS, LVISEval, LVISResults
    gt = dict(
        images=[dict(id=1, width=40, height=40, neg_category_ids=[],
                     not_exhaustive_category_ids=[])],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[2, 2, 10, 10],
                 area=100, segmentation=[[2, 2, 12, 2, 12, 12, 2, 12]]),
            dict(id=2, image_id=1, category_id=2, bbox=[20, 20, 10, 10],
                 area=100, segmentation=[[20, 20, 30, 20, 30, 30, 20, 30]])
        ],
        categories=[dict(id=1, name='a', frequency='f', image_count=1),
                    dict(id=2, name='b', frequency='r', image_count=1)])
    path = tmp_path / 'gt.json'
    path.write_text(json.dumps(gt))
    lvis_gt = LVIS(str(path))
    # One perfect detection, one miss.
    dets = [dict(image_id=1, category_id=1, bbox=[2, 2, 10, 10], score=0.9)]
    ev = LVISEval(lvis_gt, LVISResults(lvis_gt, dets), 'bbox')
    ev.run()
    assert ev.results['APf'] == pytest.approx(1.0)
    assert ev.results['APr'] == pytest.approx(0.0)
    assert ev.results['AP'] == pytest.approx(0.5)
