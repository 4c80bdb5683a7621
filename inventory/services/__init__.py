"""Writes of the inventory app, one module per concern."""
