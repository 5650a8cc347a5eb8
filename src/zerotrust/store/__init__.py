"""Persistence: SQL tables and repositories (SQLite default, PostgreSQL), Redis counters.

The only package that imports SQLAlchemy or redis. Repositories implement the protocols
declared by the domain packages (``identity.interfaces`` and peers) and return domain
dataclasses, so domain code never sees a row or a connection.
"""
