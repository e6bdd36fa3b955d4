"""Layer 1, models: the model interface and registry, model specs, GGUF files, chat templates,
llama.cpp in process (single and batched), OpenAI-compatible servers, the result cache
around any model, and loading by spec."""
