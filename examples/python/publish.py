#!/usr/bin/env python3
"""Publish a survey job to an llmxmapreduce cluster through its HTTP API (docs/http-api.md).

Standard library only. Reads one topic (a JSON object {"title": ..., "papers": [...]}) from a
JSONL file, submits it as a V2 job with the record inline, follows the job's events over
Server-Sent Events (resuming with Last-Event-ID if the connection drops), and writes the
survey's Markdown (and BibTeX with --bibtex) when it succeeds.

    LLMXMR_HTTP_TOKEN=... python3 publish.py --url http://127.0.0.1:8080 --input topics.jsonl

Use your own publisher token: `llmxmr auth init --users alice` writes it into alice.env. With it
the job is alice's, and only alice (or the cluster's operator) can follow, fetch or cancel it.

Exit codes: 0 the survey was written; 1 the job failed or the server could not be reached;
2 the request was refused (the API's error is printed as it is).
"""
import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

TERMINAL = {"job.succeeded", "job.failed", "job.cancelled"}


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def say(line):
    print(line, file=sys.stderr, flush=True)


class Api:
    def __init__(self, url, token, timeout=60):
        self.base = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method, path, body=None, headers=None):
        data = None
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return urllib.request.Request(self.base + path, data=data, headers=h, method=method)

    def call(self, method, path, body=None, raw=False):
        req = self._request(method, path, body)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                payload = res.read()
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, error_text(e)) from None
        return payload.decode("utf-8") if raw else json.loads(payload)

    def events(self, job_id, last_id=None):
        """Yield (id, event) from the job's SSE stream until the server ends it."""
        headers = {"Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = str(last_id)
        req = self._request("GET", "/api/jobs/%s/events" % job_id, headers=headers)
        try:
            res = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, error_text(e)) from None
        with res:
            event_id, data = None, []
            for raw in res:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data:
                        yield event_id, json.loads("\n".join(data))
                    event_id, data = None, []
                elif line.startswith(":"):
                    continue  # a comment: keep-alive
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "id":
                        event_id = int(value)
                    elif field == "data":
                        data.append(value)


def error_text(http_error):
    body = http_error.read().decode("utf-8", "replace")
    try:
        return json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return "HTTP %d: %s" % (http_error.code, body.strip()[:300] or http_error.reason)


def read_topic(path, line_no):
    try:
        with open(path, encoding="utf-8") as f:
            lines = [l for l in f if l.strip()]
    except OSError as e:
        raise SystemExit("publish.py: cannot read %s: %s" % (path, e.strerror))
    if not 1 <= line_no <= len(lines):
        raise SystemExit("publish.py: %s has %d record(s); --line %d is out of range" % (path, len(lines), line_no))
    try:
        return json.loads(lines[line_no - 1])
    except ValueError as e:
        raise SystemExit("publish.py: line %d of %s is not valid JSON: %s" % (line_no, path, e))


def progress(event):
    kind = event.get("type")
    stage = event.get("stage") or ""
    if kind == "tasks.progress" and event.get("total"):
        return "%s %d/%d" % (stage, event.get("done", 0), event["total"])
    if kind in ("stage.started", "stage.finished"):
        return "%s %s" % (stage, kind.split(".")[1])
    if kind == "info" and event.get("message"):
        return "%s: %s" % (stage, event["message"])
    return kind + (": " + event["message"] if event.get("message") else "")


def follow(api, job_id, quiet):
    """Print the job's progress until its terminal event; reconnect with Last-Event-ID."""
    last_id, failures = None, 0
    while True:
        try:
            for event_id, event in api.events(job_id, last_id):
                last_id = event_id if event_id is not None else last_id
                if not quiet:
                    say("  " + progress(event))
                if event.get("type") in TERMINAL:
                    return event
            return None  # the server ended the stream without a terminal event
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            failures += 1
            if failures > 5:
                raise
            say("  (event stream interrupted: %s; resuming after event %s)" % (e, last_id))
            time.sleep(1)


def main(argv=None):
    p = argparse.ArgumentParser(description="Submit a survey job through the llmxmapreduce HTTP API and fetch its Markdown.")
    p.add_argument("--url", default=os.environ.get("LLMXMR_URL", "http://127.0.0.1:8080"), help="the API's address (default $LLMXMR_URL or http://127.0.0.1:8080)")
    p.add_argument("--input", required=True, help="JSONL file: one topic per line, {\"title\", \"papers\": [{\"title\", \"txt\", ...}]}")
    p.add_argument("--line", type=int, default=1, help="which line of the input (1-based)")
    p.add_argument("--out", default="out", help="folder for <jobId>.md (and .bib)")
    p.add_argument("--blocks", type=int, default=0, help="refinement blocks")
    p.add_argument("--bibtex", action="store_true", help="also write the references as BibTeX")
    p.add_argument("--params", default="{}", help="more V2 parameters as a JSON object, e.g. '{\"groupSize\": 4}'")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    a = p.parse_args(argv)

    token = os.environ.get("LLMXMR_HTTP_TOKEN")
    api = Api(a.url, token)
    record = read_topic(a.input, a.line)
    try:
        params = dict(json.loads(a.params), blocks=a.blocks, bibtex=a.bibtex)
    except (ValueError, TypeError) as e:
        raise SystemExit("publish.py: --params is not a JSON object: %s" % e)
    try:
        me = api.call("GET", "/api/whoami")
        job_id = api.call("POST", "/api/jobs", {"pipeline": "v2", "record": record, "params": params})["jobId"]
        who = me.get("user") or "the operator"
        say("job %s submitted as %s: %s" % (job_id, who, record.get("title", "?") if isinstance(record, dict) else "?"))
        end = follow(api, job_id, a.quiet)
        status = api.call("GET", "/api/jobs/" + job_id)
        if status["state"] != "succeeded":
            say("publish.py: job %s %s: %s" % (job_id, status["state"], status.get("error") or (end or {}).get("message") or "no reason given"))
            return 1
        os.makedirs(a.out, exist_ok=True)
        md_path = os.path.join(a.out, job_id + ".md")
        with open(md_path, "w", encoding="utf-8") as f:
            f.write(api.call("GET", "/api/jobs/%s/result?format=md" % job_id, raw=True))
        written = [md_path]
        if a.bibtex:
            bib_path = os.path.join(a.out, job_id + ".bib")
            with open(bib_path, "w", encoding="utf-8") as f:
                f.write(api.call("GET", "/api/jobs/%s/result?format=bibtex" % job_id, raw=True))
            written.append(bib_path)
        usage = status.get("usage") or {}
        say("wrote %s (%s model calls, %s tokens)" % (" and ".join(written), usage.get("calls", "?"), usage.get("tokens", "?")))
        print(json.dumps({"jobId": job_id, "markdown": md_path, "usage": usage}))
        return 0
    except ApiError as e:
        say("publish.py: the API refused the request (HTTP %d): %s" % (e.status, e))
        return 2 if 400 <= e.status < 500 else 1
    except urllib.error.URLError as e:
        say("publish.py: cannot reach %s: %s" % (a.url, e.reason))
        return 1


if __name__ == "__main__":
    sys.exit(main())
