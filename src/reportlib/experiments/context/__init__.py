"""The context window: needles, what context costs, and RULER's harder retrieval tasks
(building, scoring, findings)."""
