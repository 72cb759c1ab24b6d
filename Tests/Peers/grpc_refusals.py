#!/usr/bin/env python3
"""Many refused OTLP/gRPC exports on one grpcio connection, and whether the connection survives.

Holds the server's only ingest place with an OTLP/HTTP request whose body never finishes, then
sends --requests log exports over one channel from --threads threads, each once. The messages are
larger than an HTTP/2 stream window, so the client is still sending when a server that answers
early says RESOURCE_EXHAUSTED; grpcio then resets the stream (RST_STREAM), and an HTTP/2 server
that counts those as an attack closes the connection (GOAWAY ENHANCE_YOUR_CALM). The channel's
connectivity is watched throughout: any state after the first READY means the connection was
lost. Then the held request is dropped and one more export is retried until it is accepted.
Prints the counts as JSON."""
import argparse
import json
import socket
import threading
import time

import grpc

from grpc_steady import METHOD, has_retry_info, message


def hold_place(http: str, released: threading.Event) -> socket.socket:
    """An OTLP/HTTP POST that announces a body of 16,000,000 bytes and sends 32 KiB of it a second
    until `released`: faster than the server's slowest allowed body (16 KiB/s after 10 s, else 408)
    and never silent for 30 s, so it keeps its place for over eight minutes; never all of it."""
    host, port = http.rsplit(":", 1)
    held = socket.create_connection((host, int(port)), timeout=10)
    held.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: " + host.encode() +
                 b"\r\nContent-Type: application/x-protobuf\r\nContent-Length: 16000000\r\n\r\n")
    chunk = b"\x00" * (32 << 10)

    def trickle() -> None:
        while not released.wait(1):
            try:
                held.sendall(chunk)
            except OSError:
                return

    held.sendall(chunk)
    threading.Thread(target=trickle, daemon=True).start()
    return held


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="gRPC HOST:PORT")
    parser.add_argument("--http", required=True, help="OTLP/HTTP HOST:PORT of the same server")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--body-bytes", type=int, default=1 << 20)
    args = parser.parse_args()

    counts = {"codes": {}, "with_retry_info": 0, "states_after_ready": [], "accepted_after": False, "errors": []}
    lock = threading.Lock()
    ready = threading.Event()

    def watch(state: grpc.ChannelConnectivity) -> None:
        with lock:
            if ready.is_set():
                counts["states_after_ready"].append(state.name)
            elif state == grpc.ChannelConnectivity.READY:
                ready.set()

    released = threading.Event()
    held = hold_place(args.http, released)
    with grpc.insecure_channel(args.target) as channel:
        channel.subscribe(watch, try_to_connect=True)
        grpc.channel_ready_future(channel).result(timeout=30)
        call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        # The held request has the place once a probe is refused (the server may take a moment
        # to begin it, so a probe may be accepted first; it is stored under its own name).
        deadline = time.monotonic() + 30
        while True:
            try:
                call(message("grpc-refusal-probe", -1, 16), timeout=10)
                code = "OK"
            except grpc.RpcError as error:
                code = error.code().name
            if code == "RESOURCE_EXHAUSTED":
                break
            if time.monotonic() > deadline:
                counts["errors"].append(f"never refused while the place was held: {code}")
                break
            time.sleep(0.05)

        body = message("grpc-refused", 0, args.body_bytes)
        numbers = iter(range(args.requests))

        def worker() -> None:
            while True:
                with lock:
                    number = next(numbers, None)
                if number is None:
                    return
                try:
                    call(body, timeout=30)
                    code, retry_info = "OK", False
                except grpc.RpcError as error:
                    code, retry_info = error.code().name, has_retry_info(error)
                with lock:
                    counts["codes"][code] = counts["codes"].get(code, 0) + 1
                    counts["with_retry_info"] += 1 if retry_info else 0

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        released.set()
        held.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not counts["accepted_after"]:
            try:
                call(message("grpc-after-refusals", 0, 16), timeout=10)
                counts["accepted_after"] = True
            except grpc.RpcError:
                time.sleep(0.1)
        time.sleep(0.5)
        with lock:
            print(json.dumps(counts))


if __name__ == "__main__":
    main()
