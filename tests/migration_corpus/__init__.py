"""Migration corpus: dangerous and safe migrations, each proven on a real PostgreSQL."""
