"""Galleries: collections -> people -> face templates, a SQLite store and vector indexes."""
