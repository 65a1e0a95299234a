import sys
from pathlib import Path

# Let the tests in this folder import the shared `lessons` module.
sys.path.insert(0, str(Path(__file__).parent))
