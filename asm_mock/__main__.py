import sys

from asm_mock.cli import main

sys.exit(main())
