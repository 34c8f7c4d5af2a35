#!/usr/bin/env python3
"""bench/send_tokens.py: a bounded client for bench/callgrind.sh.

    send_tokens.py HOST:PORT WARMUP_TOKEN_FILE WARMUP_COUNT [POOL_FILE COUNT]

Opens one keep-alive HTTP/1.1 connection, sends GET /me with the warm-up token
WARMUP_COUNT times, then the first COUNT tokens of POOL_FILE once each, and exits. Every
answer must be 200; anything else is an error (so a miscount cannot hide a refusal).
"""
import http.client
import sys


def main() -> int:
    host, port = sys.argv[1].rsplit(":", 1)
    with open(sys.argv[2], encoding="ascii") as f:
        warm = f.read().strip()
    warm_count = int(sys.argv[3])
    pool = []
    if len(sys.argv) > 4:
        with open(sys.argv[4], encoding="ascii") as f:
            pool = [line.strip() for line in f if line.strip()][: int(sys.argv[5])]
        if len(pool) < int(sys.argv[5]):
            print(f"pool has only {len(pool)} tokens", file=sys.stderr)
            return 1
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    for i, token in enumerate([warm] * warm_count + pool):
        conn.request("GET", "/me", headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            # The challenge names the reason (error="invalid_token", error_description=...).
            challenge = resp.getheader("WWW-Authenticate", "")
            print(f"request {i + 1}: status {resp.status} {challenge}", file=sys.stderr)
            return 1
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
