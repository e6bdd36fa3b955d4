"""Fine-tuning: training data, the LoRA trainer and its record, bits per character, base
against fine-tune."""
