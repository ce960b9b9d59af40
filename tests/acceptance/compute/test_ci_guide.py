#!/usr/bin/env python3
"""Acceptance: docs/ci-guide.md's worked example, run as the guide shows it.

The guide's `clouds.yaml` block and its openstacksdk block (the fenced
blocks after their `<!-- tested: ci-guide ... -->` markers) are extracted
from the guide itself, so the guide cannot drift from what works: the
clouds.yaml is pointed at the started osapi-compute (the guide says
127.0.0.1:8774), the example runs in a fresh interpreter with
OS_CLIENT_CONFIG_FILE at it and OS_CLOUD=ci, and what it prints is
checked: the server ACTIVE with an address on `private`, the injected
failure ERROR with the injection named in its fault. The guide's
failure-injection commands run the same way, through the `openstack` CLI.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import openstack  # noqa: E402

from acceptance_common import check, check_equal, main, service_root  # noqa: E402

GUIDE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "..", "..", "..", "docs", "ci-guide.md")


def tested_block(text, marker, language):
    """The fenced `language` block right after `<!-- tested: marker`."""
    pattern = (r"<!-- tested: " + re.escape(marker) + r"[^>]*-->\s*```"
               + re.escape(language) + r"\n(.*?)\n```")
    found = re.search(pattern, text, re.S)
    check(found is not None, "no tested %s block %r in the guide" % (language, marker))
    return found.group(1) + "\n"


def guide_environment(tmp):
    """The guide's text, and the environment its blocks run in: its
    clouds.yaml pointed at the started osapi-compute, OS_CLOUD=ci."""
    with open(GUIDE, encoding="utf-8") as f:
        guide = f.read()
    clouds = tested_block(guide, "ci-guide clouds.yaml", "yaml")
    check("http://127.0.0.1:8774/" in clouds, "the guide's clouds.yaml names 127.0.0.1:8774")
    clouds_path = os.path.join(tmp, "clouds.yaml")
    with open(clouds_path, "w", encoding="utf-8") as f:
        f.write(clouds.replace("http://127.0.0.1:8774", service_root()))
    return guide, dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds_path, OS_CLOUD="ci")


def run_failure_injection(tmp):
    guide, env = guide_environment(tmp)
    commands = tested_block(guide, "ci-guide failure injection", "sh")

    done = subprocess.run(["bash", "-euo", "pipefail", "-c", commands], env=env, cwd=tmp,
                          capture_output=True, text=True, timeout=240)

    print(done.stdout, done.stderr)
    check_equal(done.returncode, 0, "the commands' exit status")
    sdk = connect(env)
    broken = sdk.compute.find_server("broken")
    check_equal(broken.status, "ERROR", "the server made with sim:fail=spawn")
    check("sim:fail=spawn" in broken.fault["message"], "its fault: %s" % broken.fault)
    flavor = sdk.compute.find_flavor("flaky", get_extra_specs=True)
    check_equal(flavor.extra_specs.get("sim:fail_on"), "stop", "the flavor's extra spec")
    sdk.compute.delete_server(broken)
    sdk.compute.wait_for_delete(broken, wait=30)
    sdk.compute.delete_flavor(flavor)


def connect(env):
    """openstacksdk on the guide's cloud."""
    os.environ["OS_CLIENT_CONFIG_FILE"] = env["OS_CLIENT_CONFIG_FILE"]
    return openstack.connect(cloud="ci")


def run_example(tmp):
    guide, env = guide_environment(tmp)
    example = tested_block(guide, "ci-guide openstacksdk", "python")

    done = subprocess.run([sys.executable, "-c", example], env=env, cwd=tmp,
                          capture_output=True, text=True, timeout=240)

    print(done.stdout, done.stderr)
    check_equal(done.returncode, 0, "the example's exit status")
    lines = done.stdout.splitlines()
    check_equal(len(lines), 2, "lines the example prints")
    name, status, address = lines[0].split(" ")
    check_equal((name, status), ("ci-example", "ACTIVE"), "the example's server")
    check(address.startswith("10.0.0."), "an address on private: %s" % address)
    name, status, message = lines[1].split(" ", 2)
    check_equal((name, status), ("ci-broken", "ERROR"), "the failing server")
    check("sim:fail=spawn" in message, "the fault names the injection: %s" % message)


if __name__ == "__main__":
    main([("the guide's openstacksdk example", run_example),
          ("the guide's failure injection commands", run_failure_injection)])
