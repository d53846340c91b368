"""Bloblang functions, one module per category (imported automatically by mapping_lang)."""
