#!/usr/bin/env python3
"""Sums the TRX files in a folder and prints 'N passed, N failed' alone on the last line.

Anything that did not pass (failed, skipped, inconclusive, not run, timed out) counts as failed,
so a test that silently skips for a missing prerequisite fails CI. Exits 1 when any failed or
when no test ran at all.
"""
import glob
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"

folder = sys.argv[1]
passed = failed = 0
not_passed = []
files = sorted(glob.glob(folder + "/**/*.trx", recursive=True))
for path in files:
    root = ET.parse(path).getroot()
    for result in root.iter(NS + "UnitTestResult"):
        if result.get("outcome") == "Passed":
            passed += 1
        else:
            failed += 1
            not_passed.append("%s: %s" % (result.get("outcome"), result.get("testName")))
for line in not_passed:
    print("  not passed  " + line)
if not files:
    print("no TRX results found in " + folder)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or passed == 0 else 0)
