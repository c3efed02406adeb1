"""The grading library: takes an answer and an exercise, returns a verdict (sandbox, checkers).
No models: the submission's life (queue, claim, record, sweep) lives in exercises/."""
