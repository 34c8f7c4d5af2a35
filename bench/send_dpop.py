#!/usr/bin/env python3
"""bench/send_dpop.py: a bounded DPoP client for bench/dpop_callgrind.sh.

    send_dpop.py HOST:PORT POOL_FILE COUNT

Opens one keep-alive HTTP/1.1 connection and sends GET /me once for each of the first COUNT
lines of POOL_FILE (`<access token> <proof>`, from the `dpop_mint` binary), with
`Authorization: DPoP <token>` and `DPoP: <proof>`, then exits. Every answer must be 200;
anything else is an error (so a miscount cannot hide a refusal).
"""
import http.client
import sys


def main() -> int:
    host, port = sys.argv[1].rsplit(":", 1)
    count = int(sys.argv[3])
    with open(sys.argv[2], encoding="ascii") as f:
        pairs = [line.split() for line in f if line.strip()][:count]
    if len(pairs) < count:
        print(f"pool has only {len(pairs)} lines", file=sys.stderr)
        return 1
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    for i, (token, proof) in enumerate(pairs):
        conn.request("GET", "/me", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            challenge = resp.getheader("WWW-Authenticate", "")
            print(f"request {i + 1}: status {resp.status} {challenge}", file=sys.stderr)
            return 1
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
