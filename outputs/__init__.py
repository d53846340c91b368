"""Built-in outputs: one module per component, each registering itself on import."""
