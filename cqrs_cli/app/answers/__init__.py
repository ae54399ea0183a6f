"""The read model's answers: typed values whose JSON form is the pinned JSON of the commands.

Frozen dataclasses with slots (and TypedDicts where the pinned JSON leaves a key out, or
where the value is a view's stored JSON): orjson writes them as they are, field by field
in the order declared here, and an HTTP face can declare them as its response models.
A sequence is a tuple (a JSON array). Changing a field's name or order changes a pinned
shape: tests/test_read_cli.py and the other CLI tests hold them.

One module per kind of question, so that a query loads only the answers it gives: making
a dataclass costs about half a millisecond, and a query starts in about 30 ms more than a
bare Typer app (benchmarks/startup.py).
"""
