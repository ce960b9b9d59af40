"""Shared helpers for the Compute API acceptance scripts.

Every script reads where the running service is from the environment, so the
project's test command can start the real binary on any port:

  OS_COMPUTE_URL   the Compute API v2.1 endpoint (default http://127.0.0.1:8774/v2.1)
  OS_IDENTITY_URL  the built-in Identity v3 endpoint (default <compute root>/identity/v3)
  OS_NETWORK_URL   the built-in Network v2 endpoint (default <compute root>/network)
  OS_ADMIN_TOKEN   the noauth2 token of an admin (default admin:admin)
  OS_PASSWORD      any password; the noauth2 identity accepts every one (default secret)

A failed check raises AssertionError; `main()` turns that into exit status 1.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid


def compute_url():
    """The Compute API endpoint under test, without a trailing slash."""
    return os.environ.get("OS_COMPUTE_URL", "http://127.0.0.1:8774/v2.1").rstrip("/")


def service_root():
    """The scheme://host:port part of the compute endpoint."""
    url = compute_url()
    scheme, rest = url.split("://", 1)
    return scheme + "://" + rest.split("/", 1)[0]


def identity_url():
    """The Identity v3 endpoint (auth_url) of the noauth2 deployment."""
    return os.environ.get("OS_IDENTITY_URL", service_root() + "/identity/v3").rstrip("/")


def network_url():
    """The built-in Network v2 endpoint (the catalogue's `network`)."""
    return os.environ.get("OS_NETWORK_URL", service_root() + "/network").rstrip("/")


def admin_token():
    return os.environ.get("OS_ADMIN_TOKEN", "admin:admin")


def project():
    """The project of the admin token."""
    user, _, project_id = admin_token().partition(":")
    return project_id or user


def password():
    return os.environ.get("OS_PASSWORD", "secret")


def unique(prefix):
    """A name no earlier run left behind."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:8])


def write_clouds_yaml(directory):
    """Writes a clouds.yaml with both configurations the clients support.

    `noauth` uses the admin_token plugin straight at the compute endpoint
    (the token is sent as is; no token is issued; the network endpoint is
    an override, as there is no catalogue); `password` authenticates against the built-in
    Identity v3 endpoint and finds compute and image in its catalogue.
    """
    token = admin_token()
    user, _, project = token.partition(":")
    text = "\n".join([
        "clouds:",
        "  noauth:",
        "    auth_type: admin_token",
        "    auth:",
        "      endpoint: %s" % compute_url(),
        "      token: '%s'" % token,
        "    identity_api_version: '3'",
        # Project lookups (`quota show <project>`) go to the identity
        # service; the built-in one accepts the same noauth2 token.
        "    identity_endpoint_override: %s" % identity_url(),
        # No catalogue either for the built-in Network v2 endpoint.
        "    network_endpoint_override: %s" % network_url(),
        "  password:",
        "    auth_type: password",
        "    auth:",
        "      auth_url: %s" % identity_url(),
        "      username: %s" % user,
        "      password: '%s'" % password(),
        "      project_name: %s" % (project or user),
        "      user_domain_name: Default",
        "      project_domain_name: Default",
        "    identity_api_version: '3'",
        "    region_name: RegionOne",
        "",
    ])
    path = os.path.join(directory, "clouds.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def find_tool(name):
    """A console script of the venv running this script, else one on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(candidate):
        return candidate
    found = shutil.which(name)
    if not found:
        raise AssertionError("%s is not installed" % name)
    return found


class Cli:
    """Runs the `openstack` CLI against one cloud of a generated clouds.yaml."""

    def __init__(self, clouds_yaml, cloud):
        self.binary = find_tool("openstack")
        self.cloud = cloud
        self.env = dict(os.environ)
        # The generated file must win over any clouds.yaml of the machine.
        for key in list(self.env):
            if key.startswith("OS_"):
                del self.env[key]
        self.env["OS_CLIENT_CONFIG_FILE"] = clouds_yaml

    def run(self, *args, expect_ok=True):
        cmd = [self.binary, "--os-cloud", self.cloud] + list(args)
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                              timeout=300)
        shown = " ".join(args)
        if expect_ok and proc.returncode != 0:
            raise AssertionError("`openstack %s` failed (%d):\n%s%s" % (
                shown, proc.returncode, proc.stdout, proc.stderr))
        if not expect_ok and proc.returncode == 0:
            raise AssertionError("`openstack %s` succeeded but should fail:\n%s" % (
                shown, proc.stdout))
        print("  ok: openstack --os-cloud %s %s" % (self.cloud, shown))
        return proc

    def json(self, *args):
        out = self.run(*(list(args) + ["-f", "json"])).stdout
        try:
            return json.loads(out)
        except ValueError:
            raise AssertionError("`openstack %s` printed no JSON: %r" % (" ".join(args), out))


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_equal(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def wait_for(what, probe, timeout=120.0, interval=0.5):
    """Polls `probe()` until it returns a true value; returns that value."""
    deadline = time.time() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(interval)


def main(steps):
    """Runs `steps` (a list of (name, callable)) in order; exits 1 on a failure."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="compute-acceptance-") as tmp:
        for name, step in steps:
            print("== %s" % name)
            try:
                step(tmp)
            except Exception:
                failures += 1
                print("FAILED: %s" % name)
                traceback.print_exc()
    if failures:
        print("%d step(s) failed" % failures)
        sys.exit(1)
    print("all steps passed")
