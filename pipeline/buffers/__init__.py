"""Buffer components (the ``buffer`` section): each module registers one buffer type."""
