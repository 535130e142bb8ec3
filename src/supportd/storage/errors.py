"""Failures of the store itself (not of a request), which the front doors answer with
503 ServiceUnavailable. In a module of their own: the blob stores raise them too, and
storage.base (which re-exports them) imports the blob stores' protocol."""

from __future__ import annotations


class StoreUnavailable(RuntimeError):
    """The database cannot be reached (wrong address, server down, no such database).
    Nothing was written. A request that meets it is answered 503 (ServiceUnavailable):
    worth trying again later."""


class StoreFull(StoreUnavailable):
    """The disk under the store is full: nothing was written, and writes work again
    once there is space."""
