"""The single error type the library raises for bad input."""


class ReportlibError(Exception):
    """Bad input or a failed precondition, with a message meant for the user.

    The CLI prints the message without a traceback and exits non-zero.
    """
