"""Stores: the Store contract (base.py: every shared area over the core), the embedded
SQLite store and the PostgreSQL store."""
