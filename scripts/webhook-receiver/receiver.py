"""A webhook receiver for rebound's tests. Verifies every request with the
`standardwebhooks` package (not with rebound's code) and checks the body
against the WebhookEvent schema of rebound's published OpenAPI description,
then appends one JSON line per request to --out:
  {"webhook_id", "verified", "error", "schema_errors", "event"}
and answers 200 (or what --fail-first asks of the first N requests).

  receiver.py --secret whsec_... --openapi openapi.json --out log.jsonl --port-file port
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

ap = argparse.ArgumentParser()
ap.add_argument("--secret", required=True)
ap.add_argument("--openapi", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--fail-first", type=int, default=0, help="answer 500 to this many requests first")
args = ap.parse_args()

webhook = Webhook(args.secret)
with open(args.openapi) as f:
    doc = json.load(f)
# The schema, resolving its "#/components/schemas/..." references in the document.
schema = {"$ref": "#/components/schemas/WebhookEvent", "components": doc["components"]}
validator = jsonschema.Draft202012Validator(schema)
lock = threading.Lock()
state = {"seen": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = {"webhook_id": headers.get("webhook-id"), "verified": False, "error": None,
                  "schema_errors": [], "event": None}
        try:
            record["event"] = webhook.verify(body, headers)
            record["verified"] = True
            record["schema_errors"] = [e.message for e in validator.iter_errors(record["event"])]
        except WebhookVerificationError as e:
            record["error"] = str(e)
        with lock:
            state["seen"] += 1
            fail = state["seen"] <= args.fail_first
            with open(args.out, "a") as out:
                out.write(json.dumps(record) + "\n")
        self.send_response(500 if fail else 200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os

os.replace(args.port_file + ".tmp", args.port_file)
server.serve_forever()
