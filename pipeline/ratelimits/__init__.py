"""Built-in rate limits: one module per rate limit, each registering itself on import."""
