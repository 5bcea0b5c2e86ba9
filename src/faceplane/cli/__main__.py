"""``python -m faceplane.cli``: the ``faceplane`` console script without the script."""

import sys

from . import main

sys.exit(main())
