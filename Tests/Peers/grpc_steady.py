#!/usr/bin/env python3
"""Steady OTLP/gRPC log exports from several threads with Python's grpcio: each request (one
record whose body is `N:A:` and letters and digits, N the request's number and A the attempt's,
counted from 0) is sent until it is answered OK; RESOURCE_EXHAUSTED
and UNAVAILABLE are counted, with whether they carried a RetryInfo, and retried after 50 ms
(sooner than the server asks, to keep the test short). Prints "sending" once the first call is
answered, so a test can start other senders while these are under way, then the counts as JSON
on the last line, with the attempts the client was told had failed per request number
("refused_attempts": {"17": {"UNAVAILABLE": [0]}}; a request's last attempt, the one answered OK,
is the one after all of them), so that a test can tell an attempt the server took although its
answer was lost from one it took that the client never saw fail."""
import argparse
import json
import random
import string
import threading
import time

import grpc
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
# Retried codes. A test that checks which attempts the server took (GRPCServerServiceTests) counts
# only UNAVAILABLE ones as possibly taken: RESOURCE_EXHAUSTED is answered before a call is accepted.
# Retrying DEADLINE_EXCEEDED or CANCELLED too would need that test to allow those attempts as well.
RETRYABLE = {"RESOURCE_EXHAUSTED", "UNAVAILABLE"}


def message(service: str, number: int, body_bytes: int, attempt: int | None = None, filler: str | None = None) -> bytes:
    """One record whose body is `N:` (or `N:A:` with an attempt number) and `body_bytes` letters and
    digits (`filler`, or fresh random ones)."""
    if filler is None:
        filler = "".join(random.choices(string.ascii_letters + string.digits, k=body_bytes))
    prefix = f"{number}:" if attempt is None else f"{number}:{attempt}:"
    record = logs_pb2.LogRecord(time_unix_nano=time.time_ns(), severity_number=9,
                                body=common_pb2.AnyValue(string_value=prefix + filler))
    resource = resource_pb2.Resource(attributes=[
        common_pb2.KeyValue(key="service.name", value=common_pb2.AnyValue(string_value=service))])
    request = logs_service_pb2.ExportLogsServiceRequest(resource_logs=[
        logs_pb2.ResourceLogs(resource=resource, scope_logs=[logs_pb2.ScopeLogs(log_records=[record])])])
    return request.SerializeToString()


def has_retry_info(error: grpc.RpcError) -> bool:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--service", required=True)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--body-bytes", type=int, default=32000)
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the whole run")
    parser.add_argument("--call-timeout", type=float, default=10, help="seconds for one call (its gRPC deadline)")
    args = parser.parse_args()

    lock = threading.Lock()
    counts = {"ok": 0, "refused": {}, "refused_with_retry_info": 0, "refused_attempts": {}, "failed": 0, "errors": []}
    numbers = iter(range(args.requests))
    deadline = time.monotonic() + args.timeout
    announced = threading.Event()

    def announce() -> None:
        with lock:
            if not announced.is_set():
                announced.set()
                print("sending", flush=True)

    def worker(call) -> None:
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            filler = "".join(random.choices(string.ascii_letters + string.digits, k=args.body_bytes))
            for attempt in range(2000):
                body = message(args.service, number, args.body_bytes, attempt=attempt, filler=filler)
                if time.monotonic() > deadline:
                    with lock:
                        counts["failed"] += 1
                        counts["errors"].append(f"{number}: out of time")
                    return
                try:
                    call(body, timeout=args.call_timeout)
                    announce()
                    with lock:
                        counts["ok"] += 1
                    break
                except grpc.RpcError as error:
                    announce()
                    code = error.code().name
                    if code not in RETRYABLE:
                        with lock:
                            counts["failed"] += 1
                            counts["errors"].append(f"{number}: {code} {error.details()}")
                        break
                    with lock:
                        counts["refused"][code] = counts["refused"].get(code, 0) + 1
                        counts["refused_attempts"].setdefault(str(number), {}).setdefault(code, []).append(attempt)
                        counts["refused_with_retry_info"] += 1 if has_retry_info(error) else 0
                    time.sleep(0.05)

    with grpc.insecure_channel(args.target) as channel:
        call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        threads = [threading.Thread(target=worker, args=(call,)) for _ in range(args.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
