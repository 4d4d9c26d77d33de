#!/usr/bin/python3
"""Each runbook started with its fault absent leaves a healthy production as it was, on a SQLite sandbox (see scenarios.py)."""
import os, subprocess, sys
sys.exit(subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "scenarios.py"), "--no-fault"]))
