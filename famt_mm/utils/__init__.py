"""Infrastructure: argument checks, atomic file writes, launching,
install tiers, seeds, the demo photos and the checkpoint converter."""
