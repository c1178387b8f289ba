#!/usr/bin/python3
"""grpcio server for the interop service, compressing every response with gzip.

Usage: /usr/bin/python3 server.py      prints "LISTENING <port>" once bound to 127.0.0.1.
It is the peer that proves Hawser's client reads gzip responses (grpc-js servers never compress).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent import futures

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
out = tempfile.mkdtemp(prefix="hawser-interop-py-")
subprocess.run(["protoc", "-I", os.path.join(HERE, "proto"), "--python_out", out, "interop.proto"], check=True)
sys.path.insert(0, out)
import interop_pb2 as pb  # noqa: E402  (generated just above)


def echo(request, context):
    if request.fail_code:
        context.abort(grpc.StatusCode(next(c for c in grpc.StatusCode if c.value[0] == request.fail_code)), request.fail_message)
    return pb.EchoReply(message=request.message, payload=request.payload, padding=b"a" * request.reply_padding)


def total(requests, context):
    values = [n.value for n in requests]
    return pb.Total(sum=sum(values), count=len(values))


def countdown(request, context):
    for value in range(getattr(request, "from"), 0, -1):
        yield pb.Count(value=value)
        time.sleep(request.delay_ms / 1000.0)


def chat(requests, context):
    for message in requests:
        yield pb.ChatMessage(text="echo: " + message.text, seq=message.seq)


def ser(message):
    return message.SerializeToString()


handlers = {
    "Echo": grpc.unary_unary_rpc_method_handler(echo, request_deserializer=pb.EchoRequest.FromString, response_serializer=ser),
    "Sum": grpc.stream_unary_rpc_method_handler(total, request_deserializer=pb.Number.FromString, response_serializer=ser),
    "Countdown": grpc.unary_stream_rpc_method_handler(countdown, request_deserializer=pb.CountdownRequest.FromString, response_serializer=ser),
    "Chat": grpc.stream_stream_rpc_method_handler(chat, request_deserializer=pb.ChatMessage.FromString, response_serializer=ser),
}

server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), compression=grpc.Compression.Gzip,
                     options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)])
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("hawser.test.Interop", handlers),))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print("LISTENING %d" % port, flush=True)
signal.signal(signal.SIGTERM, lambda *_: server.stop(0))
server.wait_for_termination()
