"""The patch embedding set-up every ViT forward here starts with."""
from mmpretrain.models.utils import resize_pos_embed


def embed_patches(vit, x):
    """x (B, 3, H, W) -> patch tokens (B, N, C), the position embedding
    resized to this input (1, extra + N, C) and the grid (h, w), for an
    MMPretrain ``VisionTransformer`` ``vit``."""
    tokens, hw = vit.patch_embed(x)
    pos = resize_pos_embed(vit.pos_embed, vit.patch_resolution, hw,
                           vit.interpolate_mode, vit.num_extra_tokens)
    return tokens, pos, hw
