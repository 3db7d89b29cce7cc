#!/usr/bin/env python3
"""Sign and send one Slack event to a bot in HTTP mode, as Slack would.

    python scripts/slack_send_event.py --url http://127.0.0.1:3000/slack/events \
        --secret "$SLACK_SIGNING_SECRET" --channel C1 --text "help"

Prints the HTTP status and the equivalent curl command. The signature is
v0=HMAC-SHA256(secret, "v0:<timestamp>:<raw body>") in hex.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import shlex
import sys
import time
import urllib.request
import uuid


def build_event(channel: str, text: str, user: str, bot_user: str, team: str, thread_ts: str | None) -> dict:
    ts = f"{time.time():.6f}"
    event = {"type": "app_mention", "user": user, "text": f"<@{bot_user}> {text}", "ts": ts, "event_ts": ts,
             "channel": channel, "team": team}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"token": "unused", "team_id": team, "api_app_id": "A0001", "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(), "event_time": int(time.time()), "event": event}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:3000/slack/events")
    parser.add_argument("--secret", required=True)
    parser.add_argument("--channel", default="C1")
    parser.add_argument("--text", default="help")
    parser.add_argument("--user", default="U0USER")
    parser.add_argument("--bot-user", default="UBOT")
    parser.add_argument("--team", default="T0001")
    parser.add_argument("--thread-ts", default=None)
    args = parser.parse_args()

    body = json.dumps(build_event(args.channel, args.text, args.user, args.bot_user, args.team,
                                  args.thread_ts)).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": signature(args.secret, timestamp, body)}
    curl = ["curl", "-sS", "-X", "POST", args.url] + [a for k, v in headers.items() for a in ("-H", f"{k}: {v}")]
    print(" ".join(shlex.quote(part) for part in curl + ["--data-binary", body.decode()]), file=sys.stderr)
    request = urllib.request.Request(args.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.status)
    except urllib.error.HTTPError as exc:
        print(exc.code)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
