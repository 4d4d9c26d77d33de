#!/usr/bin/python3
"""Each runbook fails correctly when its fault cannot be repaired (see scenarios.py)."""
import os, subprocess, sys
sys.exit(subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "scenarios.py"), "--negative"]))
