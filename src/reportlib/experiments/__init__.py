"""Layer 3, the experiments: token statistics, the multilingual probe, the context window,
fine-tuning, and the claims ledger."""
