import sys

from mediumvc.cli import main

sys.exit(main())
