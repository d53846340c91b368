"""Cache components (``cache_resources``): each module registers one cache type."""
