"""One module per console page: its view, and the actions taken from it."""
