"""Every benchmark in one place: ``derive`` and the proofs, the engine against PyTorch, the decay
analysis, and the equation sheets. ``bpttlab bench`` runs them all."""
