"""The branches of the /restapi/ tree, each built from the service it exposes."""
