"""Built-in inputs: one module per component, each registering itself on import."""
