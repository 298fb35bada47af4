"""Dataset engineering: how a dataset lands on disk (atomic files, the output folder's manifest), the one
exporter builds and ``ftds-agent export`` share (trainer files, LLaMA-Factory registration, the card), the
checks around them (output locations), and dedupe on a Ray cluster (``ray_dedupe``)."""
