import sys

from voicebridge.cli import main

sys.exit(main())
