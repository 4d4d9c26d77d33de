#!/usr/bin/python3
"""Ctrl-C (SIGINT) in the middle of each recovery runbook, SIGHUP in two resumes: exit 3,
`interrupted`, nothing rolled back, protection still on; `resume` ends recovered and
`sandbox.py check` passes — on a SQLite sandbox and store (see interrupt.py)."""
import os, subprocess, sys
sys.exit(subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "interrupt.py"), "--backend", "sqlite"]))
