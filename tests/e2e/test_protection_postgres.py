#!/usr/bin/python3
"""Every approval of the runbooks answered no, one per runbook left unanswered: exit 1, the
escalation named, production left protected — on a PostgreSQL sandbox (see protection.py)."""
import os, subprocess, sys
sys.exit(subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "protection.py"), "--backend", "postgres"]))
