"""Text emotion backends; each module's name is its registry key."""
