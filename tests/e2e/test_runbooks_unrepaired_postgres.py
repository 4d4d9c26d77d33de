#!/usr/bin/python3
"""Each runbook fails safely when its fault cannot be repaired, on a PostgreSQL sandbox (see scenarios.py)."""
import os, subprocess, sys
sys.exit(subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "scenarios.py"), "--negative",
                          "--backend", "postgres"]))
