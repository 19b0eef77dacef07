"""Built-in stages that belong to no specific area."""
