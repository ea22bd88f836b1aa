"""The mail benchmark runs and delivers (marked slow): `python -m bench.mail --quick` reports the reply's extra
p99 with 1,000 mail-taking watchers and a delivery rate with mail actually accepted by its SMTP server (after
issue 24 every mail was silently dropped as not allowed, and the figure read 0 mails/s)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def test_the_mail_benchmark_measures_both_targets_with_mail_accepted():
    result = subprocess.run([sys.executable, "-m", "bench.mail", "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert re.search(r"p99 [+-]\d+\.\d %", result.stdout), result.stdout
    accepted = re.search(r"delivered (\d+) in .* the SMTP server accepted (\d+)", result.stdout)
    assert accepted and int(accepted.group(1)) > 0 and int(accepted.group(2)) == int(accepted.group(1)), \
        result.stdout
