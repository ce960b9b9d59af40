#!/usr/bin/env python3
"""Neutron and Glance stand-ins for nova 34 in the side-by-side benchmark:
one stdlib HTTP server with canned answers, as narrow as nova's calls on the
measured paths need. Started with the system Python; it prints
`listening on 127.0.0.1:PORT` once it accepts connections.

Neutron (`[neutron] endpoint_override = http://127.0.0.1:PORT/`):
- GET /v2.0/ports?device_id=... answers one port per asked device, in the
  one security group `default` (what servers/detail and meta_data.json ask);
- GET /v2.0/security-groups?id=... answers that group;
- any other GET /v2.0/<resource> answers an empty list.
Glance (`[glance] endpoint_override = http://127.0.0.1:PORT/`):
- GET /v2/images and /v2/images/<id> answer the images of the file given as
  argument (a Glance v2 list: `{"images": [...]}`), GET /v2/schemas/* a
  permissive schema.

Usage: standin.py IMAGES_JSON
"""
import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SECURITY_GROUP = "5c4d3f36-8c1e-4a41-9d7e-0b2f9b1d5e01"
NETWORK = "6e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def group(project):
    return {"id": SECURITY_GROUP, "name": "default", "description": "Default security group",
            "tenant_id": project, "project_id": project, "security_group_rules": []}


def port(device):
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_OID, device)), "device_id": device,
            "device_owner": "compute:nova", "network_id": NETWORK, "tenant_id": "",
            "security_groups": [SECURITY_GROUP], "status": "ACTIVE", "fixed_ips": [],
            "mac_address": "fa:16:3e:00:00:01", "admin_state_up": True}


# Glance's base properties (what nova keeps as attributes, not as properties).
BASE = ["id", "name", "status", "visibility", "protected", "os_hidden", "checksum",
        "os_hash_algo", "os_hash_value", "owner", "size", "virtual_size", "container_format",
        "disk_format", "created_at", "updated_at", "tags", "min_ram", "min_disk", "direct_url",
        "locations", "self", "file", "schema"]
SCHEMA = {"name": "image", "properties": {k: {} for k in BASE},
          "additionalProperties": {"type": "string"}, "links": []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    images = []

    def log_message(self, *args):
        pass

    def answer(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] == ["v2.0"] and len(parts) >= 2:
            resource = parts[1].removesuffix(".json")
            if resource == "ports":
                return self.answer(200, {"ports": [port(d) for d in query.get("device_id", [])]})
            if resource == "security-groups":
                wanted = query.get("id")
                groups = [group("")] if not wanted or SECURITY_GROUP in wanted else []
                return self.answer(200, {"security_groups": groups})
            return self.answer(200, {resource.replace("-", "_"): []})
        if parts[:2] == ["v2", "schemas"]:
            return self.answer(200, SCHEMA)
        if parts[:2] == ["v2", "images"]:
            if len(parts) == 2:
                return self.answer(200, {"images": self.images, "schema": "/v2/schemas/images",
                                         "first": "/v2/images"})
            for image in self.images:
                if image["id"] == parts[2]:
                    return self.answer(200, image)
            return self.answer(404, {"message": "image not found"})
        if not parts or parts == ["versions"]:
            return self.answer(200, {"versions": [{"id": "v2.16", "status": "CURRENT",
                                                   "links": [{"rel": "self", "href": "/v2/"}]}]})
        self.answer(404, {"message": f"no stand-in for {self.path}"})


def main():
    with open(sys.argv[1]) as f:
        Handler.images = json.load(f)["images"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
