"""Layer 2, text: parallel corpora, tokenizers, the language judge and answer-quality labels."""
