"""The board drivers, one module each; hw.registry finds them."""
