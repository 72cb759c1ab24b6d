#!/usr/bin/env python3
"""Sends one raw message to an OTLP/gRPC Export method with Python's grpcio (a client Periscope
did not write) and prints the outcome as JSON: the status code's name, its details, the
RetryInfo delay if the server attached one, and the response bytes in hex."""
import argparse
import json

import grpc
from google.rpc import error_details_pb2, status_pb2

METHODS = {
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--signal", choices=sorted(METHODS), default="logs")
    parser.add_argument("--file", required=True, help="a file holding the request message's bytes")
    parser.add_argument("--token")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else None
    with grpc.insecure_channel(args.target) as channel:
        call = channel.unary_unary(METHODS[args.signal], request_serializer=None, response_deserializer=None)
        outcome = {"code": "OK", "details": "", "retry_delay_ms": None, "response_hex": ""}
        try:
            with open(args.file, "rb") as message:
                body = message.read()
            response = call(body, metadata=metadata, timeout=10,
                            compression=grpc.Compression.Gzip if args.gzip else None)
            outcome["response_hex"] = response.hex()
        except grpc.RpcError as error:
            outcome["code"] = error.code().name
            outcome["details"] = error.details() or ""
            for key, value in error.trailing_metadata() or ():
                if key == "grpc-status-details-bin":
                    status = status_pb2.Status.FromString(value)
                    for detail in status.details:
                        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                            info = error_details_pb2.RetryInfo()
                            detail.Unpack(info)
                            outcome["retry_delay_ms"] = info.retry_delay.seconds * 1000 + info.retry_delay.nanos // 1_000_000
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
