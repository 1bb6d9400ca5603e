"""The pipeline's web tests use the REST API helpers of tests/web (``api_support``)."""

from __future__ import annotations

import sys
from pathlib import Path

_WEB_TESTS = str(Path(__file__).resolve().parents[1] / "web")
if _WEB_TESTS not in sys.path:
    sys.path.insert(0, _WEB_TESTS)
