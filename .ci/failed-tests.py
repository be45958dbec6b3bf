#!/usr/bin/env python3
"""Print each failed test of the TRX logs given, with its message and the top of its stack trace.

CI keeps only the tail of .ci/run's output; this makes the tail name what failed."""
import os
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"

for path in sys.argv[1:]:
    if not os.path.isfile(path):  # an unmatched glob stays literal
        continue
    for result in ET.parse(path).getroot().iter(NS + "UnitTestResult"):
        if result.get("outcome") != "Failed":
            continue
        message = result.findtext(f"{NS}Output/{NS}ErrorInfo/{NS}Message") or ""
        stack = result.findtext(f"{NS}Output/{NS}ErrorInfo/{NS}StackTrace") or ""
        print(f"FAILED {result.get('testName')}")
        for line in message.strip().splitlines()[:25]:
            print(f"    {line[:300]}")
        for line in stack.strip().splitlines()[:6]:
            print(f"    {line.strip()[:300]}")
