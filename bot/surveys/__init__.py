"""Built-in survey files, shipped as package data."""
