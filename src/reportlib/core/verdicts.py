"""The words a verdict is given in, everywhere in the book (ledger, chapters, tests)."""

SUPPORTED = "supported"
PARTLY = "partly true"
REFUTED = "refuted"
#: a two-sided test that is not significant in either direction
NOT_DECIDED = "not decided"
#: a claim no source the book can open, and no measurement, can settle
NOT_CHECKABLE = "not checkable"
VERDICTS = (SUPPORTED, PARTLY, REFUTED, NOT_DECIDED, NOT_CHECKABLE)
