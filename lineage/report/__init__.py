"""Reports people and machines read: text for terminals, JSON, and more formats built on them."""
