"""``python -m anvil ...``: see ``anvil.cli``."""

import sys

from anvil.cli import main

if __name__ == "__main__":
  sys.exit(main())
