"""A verdict's feedback as the student reads it: prose with math for KaTeX, quoted code kept as it is."""

from exercises.templatetags.exercise_tags import feedback


def test_math_in_feedback_becomes_a_span_that_katex_typesets():
    html = feedback(r"Check the sign: $L = \log(e^{z_1} + e^{z_2}) - z_1$.")
    assert html == r'<p>Check the sign: <span class="math inline">L = \log(e^{z_1} + e^{z_2}) - z_1</span>.</p>'


def test_code_in_backticks_is_code_and_a_dollar_inside_it_is_not_math():
    html = feedback("Use `x.amax(dim=dim)` and not `'$x$'`; it costs $5 today.")
    assert html == (
        "<p>Use <code>x.amax(dim=dim)</code> and not <code>&#x27;$x$&#x27;</code>; it costs $5 today.</p>"
    )


def test_a_traceback_stays_preformatted_with_its_exception_line():
    message = (
        "`softmax(x)` raised ValueError: bad\n"
        "Traceback (most recent call last):\n"
        '  File "<your code>", line 4, in softmax\n'
        "    raise ValueError('bad')\n"
        "ValueError: bad"
    )
    html = feedback(message)
    assert html.startswith("<p><code>softmax(x)</code> raised ValueError: bad</p><pre>Traceback (most recent")
    assert html.endswith("    raise ValueError(&#x27;bad&#x27;)\nValueError: bad</pre>")


def test_a_syntax_error_keeps_its_caret_under_the_column():
    html = feedback("Line 3: '(' was never closed\n    x = (1\n        ^")
    assert html == "<p>Line 3: &#x27;(&#x27; was never closed</p><pre>    x = (1\n        ^</pre>"


def test_blank_lines_separate_paragraphs_and_markup_in_the_text_is_escaped():
    html = feedback("First <b>one</b>.\n\nThen two.")
    assert html == "<p>First &lt;b&gt;one&lt;/b&gt;.</p><p>Then two.</p>"
