"""Click commands, one module per area; the lead registers them in shipyard.cli."""
