#!/usr/bin/env python3
"""Acceptance: test_network_cli.py's scenario (the `openstack` network
commands and the servers using them, issue 21) with password
authentication against the built-in identity, whose catalogue names the
`network` endpoint. See test_network_cli.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from acceptance_common import main  # noqa: E402
from test_network_cli import scenario  # noqa: E402

if __name__ == "__main__":
    main([("openstack network CLI, password auth against the built-in identity",
           scenario("password"))])
