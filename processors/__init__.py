"""Built-in processors: one module per component, each registering itself on import."""
