"""A new fusion, frequency cue and backbone adapter are each one registered
function, found by name: registered here, used by a real refresh."""
import numpy as np
import pytest

from famt_mm.models.utils import cues as cue_module
from famt_mm.models.utils import patch_weights
from famt_mm.models.utils.cues import (register_backbone_adapter,
                                       register_frequency_cue, vit_cues)
from famt_mm.models.utils.patch_weights import register_fusion
from .conftest import tiny_famt_mae_cfg
from .test_hook import train


@pytest.fixture
def extensions():
    calls = []

    @register_fusion('attention_squared')
    def attention_squared(attn_w, freq_w):
        return attn_w**2 * freq_w

    @register_frequency_cue('feature', 'flat', default_cutoff=1.0)
    def flat(images, tokens, hw, cutoff):
        return tokens.new_ones(tokens.shape[:2])

    @register_backbone_adapter('counted_vit',
                               needs=('layers', 'cls_token', 'patch_embed'))
    def counted_vit(backbone, images):
        calls.append(len(images))
        return vit_cues(backbone, images)

    yield calls
    del patch_weights.FUSIONS['attention_squared']
    del cue_module.FREQUENCY_CUES[('feature', 'flat')]
    del cue_module.BACKBONE_ADAPTERS['counted_vit']


def first_refresh(work, photos_dir, **hook):
    cfg = tiny_famt_mae_cfg(work, photos_dir, epochs=2, warmup=1, times=1)
    cfg.custom_hooks[0].update(log_panels=0, **hook)
    train(cfg)
    return np.load(work / 'famt_weights' / 'epoch_1.npy').astype(np.float32)


def test_registered_cues_drive_a_refresh(tmp_path, photos_dir, extensions):
    # paired runs: same seed, data and warm-up, so the first refresh reads
    # the same model; AMT's map a / max(a) then gives the new one exactly
    amt = first_refresh(tmp_path / 'amt', photos_dir, mode='attention')
    extensions.clear()  # the newest adapter that fits reads every ViT
    new = first_refresh(tmp_path / 'new', photos_dir,
                        mode='attention_squared', frequency_filter='flat')
    assert sum(extensions) >= len(amt)  # every image read by the adapter
    above_floor = amt >= 0.1  # (a / max a)^2 >= 0.01, the weight floor
    assert above_floor.mean() > 0.3
    np.testing.assert_allclose(new[above_floor], amt[above_floor]**2,
                               atol=2e-3)
    assert not np.allclose(new, amt, atol=2e-3)


def test_unregistered_names_list_the_registered_ones(extensions):
    from famt_mm.engine.hooks.famt_hook import FAMTHook
    with pytest.raises(ValueError, match="'attention_squared'"):
        FAMTHook(mode='attention_cubed')
    with pytest.raises(ValueError, match=r"\('feature', 'flat'\)"):
        FAMTHook(frequency_source='image', frequency_filter='flat')


def test_a_backbone_without_an_adapter_says_what_each_needs():
    import torch
    from mmpretrain.models import MixMIMTransformer
    backbone = MixMIMTransformer(
        arch=dict(embed_dims=16, depths=[1, 1, 1, 1],
                  num_heads=[1, 1, 1, 1]), img_size=32, patch_size=4,
        window_size=[8, 4, 2, 1])
    with pytest.raises(ValueError,
                       match=r"MixMIMTransformer.*vit needs \['cls_token'"):
        cue_module.backbone_cues(backbone, torch.rand(1, 3, 32, 32))
