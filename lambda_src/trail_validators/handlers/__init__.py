"""Lambda faces: thin handlers over the parts (their paths are what the stacks name)."""
