"""The weight contract: what the hook, the pipeline and the models share.

- Mask codes: ``MASKED`` (1, reconstructed, in the loss), ``THROWN`` (-1,
  removed from encoder, decoder and loss), ``VISIBLE`` (0, seen by the
  encoder).
- Keys of a sample's results: ``famt_view`` (the part of the original
  image the current image shows, ``(x0, y0, x1, y1)`` in [0, 1], x0 > x1
  after a horizontal flip) and ``famt_weights`` (the per-patch weights of
  that view, packed into the data sample).

The per-image weight maps have one owner, the run's
:class:`famt_mm.datasets.weight_files.WeightArchive`; the patch grid has
one too, the model (``patch_grid``).
"""
MASKED, THROWN, VISIBLE = 1, -1, 0
VIEW_KEY = 'famt_view'
WEIGHTS_KEY = 'famt_weights'
FULL_VIEW = (0.0, 0.0, 1.0, 1.0)  # the whole original image
