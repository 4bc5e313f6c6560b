import sys

from lab.core.cli import main

sys.exit(main())
