#!/usr/bin/env python3
"""A webhook receiver that answers 200 at once (asyncio, minimal HTTP/1.1
parsing, keep-alive) and records when each delivery arrived. Used by
scripts/bench/webhooks.py. Usage: receiver.py PORT OUTFILE — on SIGTERM it
writes one JSON line per delivery: [arrival time, session_id, sequence,
webhook_type]."""
import asyncio
import json
import signal
import sys
import time

RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
received = []


class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            received.append((time.time(), body))
            self.transport.write(RESPONSE)


async def main(port, out):
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    await stop
    server.close()
    with open(out, "w") as f:
        for at, body in received:
            event = json.loads(body)
            f.write(json.dumps([at, event.get("session_id"), event.get("sequence"), event.get("webhook_type")]) + "\n")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
