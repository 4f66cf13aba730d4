"""Catalog demo data (filled in below)."""


def load_catalog_demo() -> bool:
    return False
