"""What every stage knows about an image, below all of them: references and the tag
grammar (tags.py), the labels a build stamps (labels.py), reading a saved image's layers
(layers.py), the verdicts on an image's config shared by `check` and `test` (metadata.py,
results.py) and the secret shapes looked for in image bytes (secrets.py).

Why a neutral package: `build` writes these facts, `publish`, `test`, `check` and `deploy`
read them; none of those stages may import another, so the knowledge lives here.
"""
