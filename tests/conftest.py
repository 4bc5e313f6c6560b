import sys
from pathlib import Path

# tests/reference.py (plain torch loops) is imported as a helper module by several tests.
sys.path.insert(0, str(Path(__file__).parent))
