"""Training: examples, packing, objectives, optimizer, loop."""
