"""Building images: what to tag, label and pass as build args, then the build itself.

The modules here split along the I/O line: tags, labels and ci compute plain
data from plain inputs (an env mapping, git facts, a clock value) and never
run anything, so every rule is a table test; the stages that call docker
feed on their results.
"""
