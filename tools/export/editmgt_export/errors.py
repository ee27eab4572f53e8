"""User-facing errors: the CLI prints these as one line, never a traceback."""


class ExportError(Exception):
    """A problem with the user's input (checkpoint layout, config, tensors, options)."""
