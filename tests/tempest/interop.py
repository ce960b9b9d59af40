"""Checks a tempest run of the interop guideline's tests (run.sh's last run).

    interop.py LIST TESTS OUTPUT

LIST is tests/tempest/interop-2020.06.txt (an idempotent id per line, then
`# <test name> (<capability>...)`); TESTS is what `tempest run
--list-tests --include-list LIST` printed (the tests' names with their
`[id-...]` tags); OUTPUT is what `tempest run --include-list LIST`
printed. Every test of the list must appear in the output, found through
its id's names in TESTS (a test's own line; subclasses that inherit a
test share its id, and each of them counts) or, when tempest skipped a
whole class, by the class's `setUpClass` line. A test passes, or is
skipped for a reason this cloud is allowed (no block storage, no
reachable guest); anything else, a failure or a test that did not run at
all, is printed and makes the exit status 1. Prints the counts.
"""

import re
import sys

# What the guideline lets a cloud without these services skip: block
# storage (Cinder) and guests one can reach (ssh, ping: validation).
ALLOWED_SKIP = re.compile(
    r"cinder|volume|block.?storage|run_validation|validation", re.IGNORECASE
)
# `tempest.api.x.Class.test_y[id-...,smoke]`, as --list-tests prints it
LISTED = re.compile(r"^(tempest\.\S+?)\[([^\]]*)\]$")
# `{0} tempest.api.x.Class.test_y [0.1s] ... ok`
TEST_LINE = re.compile(r"^\{\d+\} (tempest\.\S+) (?:\[[\d.]+s\] )?\.\.\. (.*)$")
CLASS_LINE = re.compile(r"^\{\d+\} setUpClass \((\S+)\) (?:\[[\d.]+s\] )?\.\.\. (.*)$")


def read_list(path):
    """(id, guideline name) of each entry."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test_id, _, comment = line.partition("#")
            entries.append((test_id.strip(), comment.strip().split(" ")[0]))
    return entries


def read_names(path):
    """{id: [test name, ...]} of the tests `tempest run --list-tests`
    listed: subclasses inherit a test, so one id can name several."""
    names = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LISTED.match(line.strip())
            if m:
                for tag in m.group(2).split(","):
                    if tag.startswith("id-"):
                        names.setdefault(tag, []).append(m.group(1))
    return names


def read_output(path):
    """{test name: status} of the tests run, {class: status} of whole-class lines."""
    by_name, by_class = {}, {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = CLASS_LINE.match(line)
            if m:
                by_class[m.group(1)] = m.group(2)
                continue
            m = TEST_LINE.match(line)
            if m:
                by_name[m.group(1)] = m.group(2)
    return by_name, by_class


def verdict(status):
    """'passed', 'skipped' (an allowed reason), or None (a failure)."""
    if status == "ok":
        return "passed"
    if status.startswith("SKIPPED") and ALLOWED_SKIP.search(status):
        return "skipped"
    return None


def main(list_path, tests_path, output_path):
    entries = read_list(list_path)
    names = read_names(tests_path)
    by_name, by_class = read_output(output_path)
    counts = {"passed": 0, "skipped": 0}
    problems = []
    for test_id, name in entries:
        # Every test carrying the id counts: one failure is a failure; else
        # the id passes when one of them passed (as refstack counts an id).
        results = []
        for variant in names.get(test_id, [name]):
            status = by_name.get(variant)
            if status is None:
                status = by_class.get(variant.rsplit(".", 1)[0])
            if status is None:
                problems.append("did not run: %s %s" % (test_id, variant))
                results.append(None)
                continue
            result = verdict(status)
            if result is None:
                problems.append("%s: %s %s" % (status, test_id, variant))
            results.append(result)
        if None in results:
            continue
        counts["passed" if "passed" in results else "skipped"] += 1
    print(
        "interop 2020.06 (compute, identity, image): %d tests, %d passed, "
        "%d skipped (block storage or a reachable guest), %d not passed"
        % (len(entries), counts["passed"], counts["skipped"],
           len(entries) - counts["passed"] - counts["skipped"])
    )
    for problem in problems:
        print("  " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
