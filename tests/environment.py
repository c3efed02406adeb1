"""Give a test run its own var folder (database file, broker queue), apart from the developer's.

Loaded with `-p tests.environment` (see pyproject.toml), so it runs before Django reads its
settings.
"""

import os
from pathlib import Path

os.environ.setdefault("ATTENTIVE_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))
