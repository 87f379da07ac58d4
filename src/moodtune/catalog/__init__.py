"""The music catalog: SQLite storage, importers, and the embedded default catalog."""
