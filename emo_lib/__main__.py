"""``python -m emo_lib``: the same command line as ``emo``."""

import sys

from .cli import main

sys.exit(main())
