"""A tiny package index stand-in: lists nothing, answers its health route."""
