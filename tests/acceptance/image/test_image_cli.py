#!/usr/bin/env python3
"""Acceptance: the unmodified `openstack image` CLI against the built-in
Image v2 endpoint, with a 100 MB image.

`image create --file` uploads it, `image list/show/set/unset` change it,
`image save --file` downloads it again and the two files must have the
same sha256; then `image delete`. Meanwhile the resident memory (VmRSS) of
the osapi-compute worker processes is read from /proc before, during and
after the upload and reported: the upload is streamed, so the workers
must not grow by anything like the file's size (the step fails past
50 MB). Uses the clouds.yaml `password` configuration of
acceptance_common.py (the built-in identity's catalogue names the image
endpoint).
"""

import hashlib
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "compute"))

from acceptance_common import (Cli, check, check_equal, main, unique,  # noqa: E402
                               write_clouds_yaml)

SIZE = 100 * 1024 * 1024
MAX_GROWTH_KB = 50 * 1024


def osapi_workers():
    """Pids of the osapi-compute processes of this deployment whose parent
    is an osapi-compute process too (the workers), found through /proc by
    the deployment's nova.conf on their command line."""
    conf = os.environ.get("NOVA_CONF", "")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if argv and argv[0].endswith(b"osapi-compute") and conf.encode() in b" ".join(argv):
            found[int(entry)] = ppid
    return [pid for pid, ppid in found.items() if ppid in found]


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def total_rss(pids):
    return sum(rss_kb(p) for p in pids)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run(tmp):
    cli = Cli(write_clouds_yaml(tmp), "password")
    source = os.path.join(tmp, "disk.qcow2")
    with open(source, "wb") as f:
        block = os.urandom(1 << 20)
        for i in range(SIZE // len(block)):
            f.write(bytes([i % 256]) + block[1:])
    workers = osapi_workers()
    check(workers, "no osapi-compute worker found for NOVA_CONF=%s" % os.environ.get("NOVA_CONF"))
    before = total_rss(workers)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], total_rss(workers))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    name = unique("acc-image")
    try:
        created = cli.json("image", "create", "--file", source, "--disk-format", "qcow2",
                           "--container-format", "bare", "--private", name)
    finally:
        done.set()
        sampler.join()
    after = total_rss(workers)
    print("  worker RSS (kB, %d workers): before %d, peak during upload %d, after %d; growth %d"
          % (len(workers), before, peak[0], after, peak[0] - before))
    check(peak[0] - before <= MAX_GROWTH_KB,
          "the workers grew by %d kB during a %d MB upload" % (peak[0] - before, SIZE >> 20))

    image_id = created["id"]
    shown = cli.json("image", "show", image_id)
    check_equal(shown["status"], "active", "status after upload")
    check_equal(shown["size"], SIZE, "size after upload")
    with open(source, "rb") as f:
        md5 = hashlib.md5()
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
    check_equal(shown["checksum"], md5.hexdigest(), "checksum (md5)")
    listed = [row["ID"] for row in cli.json("image", "list", "--private")]
    check(image_id in listed, "image missing from image list --private")

    cli.run("image", "set", "--property", "os_distro=acceptance", "--tag", "gold", image_id)
    shown = cli.json("image", "show", image_id)
    check("acceptance" in str(shown.get("properties")), "property missing: %r" % shown)
    check("gold" in shown.get("tags", []), "tag missing: %r" % shown.get("tags"))
    cli.run("image", "unset", "--property", "os_distro", "--tag", "gold", image_id)
    shown = cli.json("image", "show", image_id)
    check("os_distro" not in str(shown.get("properties")), "property still there: %r" % shown)
    check("gold" not in shown.get("tags", []), "tag still there: %r" % shown.get("tags"))

    saved = os.path.join(tmp, "saved.qcow2")
    cli.run("image", "save", "--file", saved, image_id)
    check_equal(sha256(saved), sha256(source), "sha256 of the saved file")
    cli.run("image", "delete", image_id)
    cli.run("image", "show", image_id, expect_ok=False)


if __name__ == "__main__":
    main([("openstack image CLI with a 100 MB image", run)])
