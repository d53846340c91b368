"""Bloblang methods, one module per category (imported automatically by mapping_lang)."""
