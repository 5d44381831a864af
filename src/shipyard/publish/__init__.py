"""`shipyard publish`: push a build's tags (read from the build report in shipyard.image,
never from the build stage) with a minimal OCI distribution client."""
