#!/usr/bin/python3
"""The short form of the crash test (tests/crash/crash_test.py, whose long form is
tests/crash/run.sh): 12 kills on SQLite, and on PostgreSQL when the test server runs."""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
script = os.path.join(here, "..", "crash", "crash_test.py")
rc = subprocess.call([sys.executable, script, "--kills", "12", "--store", "sqlite"])
if rc == 0 and os.environ.get("RUNBOOK_TEST_PG_URL"):
    rc = subprocess.call([sys.executable, script, "--kills", "12", "--store", "postgres"])
sys.exit(rc)
