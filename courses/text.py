"""Text as browsers send it from a text area, made the same however it was sent, before it is counted."""


def normalized_line_endings(text: str) -> str:
    """`text` with every line ending as "\\n".

    A form sends a text area with "\\r\\n" line endings, a script sends it with "\\n", and the
    browser's maxlength counts a line break once: a limit on length must count it once too, or the
    same answer fits as a draft and not as a submission.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")
