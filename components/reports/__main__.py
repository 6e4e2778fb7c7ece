"""``python -m components.reports``: write the deck and the brief of one view."""

import sys

from components.reports import main

sys.exit(main())
