"""Layer 0, foundations: errors, the result cache, statistics, verdict words, published facts,
the report's languages, escaped HTML, the machine."""
