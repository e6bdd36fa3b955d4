"""Layer 5, measurements of the tool itself: the harness against llama.cpp's own tools,
kernels, batching, servers, whole-book costs, the environment, per-chapter usage."""
