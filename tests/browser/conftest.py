"""The site test runs after the book is built (``make test`` builds it first)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # sitecheck
