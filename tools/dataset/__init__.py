"""Dataset operations (dedupe, split, export); here so far: dedupe on a Ray cluster (``ray_dedupe``)."""
