"""Unary gRPC calls with Python's grpcio (gRPC's C core), for tests/grpc/grpcio.rs.

Reads a JSON object from stdin: {"target": "127.0.0.1:PORT", "calls": [{"method":
"/package.Service/Method", "request_hex": "...", "metadata": [["name", "value"], ...]}]}
and prints one JSON list: for each call its status code (a number), details, initial and
trailing metadata, and the response message as hex (when the call succeeded). Messages are
raw bytes both ways (no generated code): the Rust side encodes and decodes them.
"""

import json
import sys

import grpc


def main():
    spec = json.load(sys.stdin)
    # No proxy, whatever the environment says: the server is on loopback.
    options = [("grpc.enable_http_proxy", 0)]
    results = []
    with grpc.insecure_channel(spec["target"], options=options) as channel:
        for call in spec["calls"]:
            method = channel.unary_unary(call["method"])
            metadata = [tuple(pair) for pair in call.get("metadata", [])]
            request = bytes.fromhex(call.get("request_hex", ""))
            try:
                response, rpc = method.with_call(request, metadata=metadata, timeout=10)
                result = {
                    "code": rpc.code().value[0],
                    "details": rpc.details() or "",
                    "initial": [list(m) for m in (rpc.initial_metadata() or [])],
                    "trailing": [list(m) for m in (rpc.trailing_metadata() or [])],
                    "response_hex": response.hex(),
                }
            except grpc.RpcError as error:
                result = {
                    "code": error.code().value[0],
                    "details": error.details() or "",
                    "initial": [list(m) for m in (error.initial_metadata() or [])],
                    "trailing": [list(m) for m in (error.trailing_metadata() or [])],
                    "response_hex": None,
                }
            results.append(result)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
