"""One convention for refusals across the apps.

A refusal is a request that a person may not make now: a closed window, a spent attempt, a full
game, a sheet over a limit. A service raises a subclass of `Refused` named after what it refuses
(`SubmissionRefused`, `GameRefused`, ...), with a message written for that person: why, and what
to do. A view catches `Refused`, shows the message and loses nothing the person typed. Anything
else that goes wrong is a bug or an outage, and is not a refusal.
"""


class Refused(Exception):
    """The request is not allowed now; the message says why and what to do."""
