"""Pure rules of the support domain: no I/O, no imports of the rest of supportd."""
