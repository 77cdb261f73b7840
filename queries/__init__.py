"""Analysis SQL, one query per file, loaded through importlib.resources."""
