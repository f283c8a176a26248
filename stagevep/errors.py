"""Exceptions that carry a message a biologist can act on.

The ``bin/`` scripts catch :class:`InputError` and exit with status 2 and the
message, without a traceback; any other exception is a bug and keeps its
traceback.
"""


class InputError(ValueError):
    """Bad user input: a missing file, a malformed row, incompatible contigs.

    The message names the file (and row or field where there is one) and says
    what to do about it.
    """
