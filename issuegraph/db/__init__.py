"""The database layer: the embedded server, the pool, migrations and every SQL statement."""
