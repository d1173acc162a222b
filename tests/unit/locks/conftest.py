from __future__ import annotations

import pytest
from lock_transport import LocalExecTransport


@pytest.fixture
def transport() -> LocalExecTransport:
    return LocalExecTransport()
