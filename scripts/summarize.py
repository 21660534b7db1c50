#!/usr/bin/env python3
"""Sums the 'N passed, N failed' lines that each test runner printed (or, for the browser tests
run by node --test, the TAP summary's '# pass N' and '# fail N') into one line per suite:
'<label> <passed> <failed>'. A runner that crashed before its closing line counts as one
failure."""
import json
import re
import sys

passed = failed = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        m = None
        for m in re.finditer(r"^(\d+) passed, (\d+) failed$", t.get("stdout", ""), re.M):
            pass
        out = t.get("stdout", "")
        tp = re.findall(r"^# pass (\d+)$", out, re.M)
        tf = re.findall(r"^# fail (\d+)$", out, re.M)
        if not m and tp and tf:
            m = re.match(r"(\d+) (\d+)", f"{tp[-1]} {tf[-1]}")
        if m:
            passed += int(m.group(1))
            failed += int(m.group(2))
        if t.get("result") != "OK" and (not m or int(m.group(2)) == 0):
            failed += 1
print(sys.argv[2], passed, failed)
