"""Training and evaluation of moodtune's model heads (needs ``moodtune[train]``)."""
