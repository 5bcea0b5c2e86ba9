"""Model families. Each takes a weights path (default: the packaged file) and never downloads."""
