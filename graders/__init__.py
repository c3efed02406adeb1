"""The grading engine: sandbox, checkers, reference implementations and Celery tasks."""
