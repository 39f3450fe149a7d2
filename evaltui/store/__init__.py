"""The data layer: the only code that speaks SQL. It imports no Textual."""

from evaltui.store.errors import StoreError
from evaltui.store.reader import RunStore, find_store_path

__all__ = ["RunStore", "StoreError", "find_store_path"]
