"""``python -m deployer.lab.crictl --state STATE [global flags] COMMAND ...``: see :mod:`.cli`."""

import sys

from deployer.lab.crictl.cli import main

if __name__ == "__main__":
    sys.exit(main())
