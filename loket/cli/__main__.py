"""`python -m loket.cli`: the same command as `loket`."""

import sys

from loket.cli import main

sys.exit(main())
