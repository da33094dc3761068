from .mask_panels import render_batch, render_first, render_panels

__all__ = ['render_batch', 'render_first', 'render_panels']
