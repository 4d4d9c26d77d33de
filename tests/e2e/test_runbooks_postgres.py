#!/usr/bin/python3
"""The fourteen runbooks recover their faults on a PostgreSQL sandbox (see scenarios.py)."""
import os, subprocess, sys
sys.exit(subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "scenarios.py"), "--backend", "postgres"]))
