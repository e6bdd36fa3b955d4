"""The multilingual probe: prompts, running it, analysis, the audit of its labels, and its
tables."""
