"""User functions declared in the config, and the runner that plays them on the outlets."""
