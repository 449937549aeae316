"""Cost of a model on a device: ops, MACs, flash, arena, latency, energy."""
