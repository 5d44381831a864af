"""A Report as JUnit XML, the format every CI shows as test results (GitLab, Jenkins, GitHub).

Why ElementTree: it escapes every value, so a reason or a log line with `<`, `&` or
quotes can never make the file malformed. One <testsuite> per check group, one
<testcase> per check (classname `shipyard.<group>`, name the check id); a failed
check is a <failure> whose message is the reason and whose text is the details;
a skipped check is a <skipped> with its reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from shipyard.image.results import GROUPS
from shipyard.imagetest.report import Report

# XML 1.0 forbids most control characters, which container logs can contain.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def to_junit(report: Report) -> str:
    counts = report.counts()
    root = ET.Element("testsuites", {
        "name": f"shipyard test {_clean(report.image)}",
        "tests": str(counts["total"]), "failures": str(counts["failed"]),
        "errors": "0", "skipped": str(counts["skipped"]), "time": f"{report.duration:.3f}",
    })
    groups = [g for g in GROUPS if any(r.group == g for r in report.results)]
    groups += sorted({r.group for r in report.results} - set(groups))
    for group in groups:
        mine = [r for r in report.results if r.group == group]
        suite = ET.SubElement(root, "testsuite", {
            "name": f"{group} ({_clean(report.image)})",
            "tests": str(len(mine)),
            "failures": str(sum(1 for r in mine if r.status == "fail")),
            "errors": "0",
            "skipped": str(sum(1 for r in mine if r.status == "skip")),
            "time": f"{sum(r.duration for r in mine):.3f}",
        })
        for result in mine:
            case = ET.SubElement(suite, "testcase", {
                "classname": f"shipyard.{group}", "name": _clean(result.id),
                "time": f"{result.duration:.3f}",
            })
            if result.status == "fail":
                failure = ET.SubElement(case, "failure", {"message": _clean(result.reason),
                                                          "type": result.id})
                failure.text = _clean("\n".join([result.reason, *result.details]))
            elif result.status == "skip":
                ET.SubElement(case, "skipped", {"message": _clean(result.reason)})
            elif result.details:
                out = ET.SubElement(case, "system-out")
                out.text = _clean("\n".join([result.reason, *result.details]))
            else:
                out = ET.SubElement(case, "system-out")
                out.text = _clean(result.reason)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
