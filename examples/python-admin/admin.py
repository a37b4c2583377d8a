"""Creates a topic on a Polywire broker and lists the broker's topics.

Uses the generated Python messages of gen/python and the Connect protocol's
unary form over plain HTTP POSTs (standard library only): the request body
is the serialized message with content type application/proto; a failure
comes back as a non-200 status with a JSON body {"code", "message"}.

    .venv/bin/python examples/python-admin/admin.py --admin http://127.0.0.1:7421 --topic orders --partitions 3
"""

import argparse
import json
import pathlib
import sys
import urllib.error
import urllib.request

# The generated bindings live in gen/python at the root of the repository.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "gen" / "python"))

from polywire.v1 import admin_pb2  # noqa: E402


class ConnectError(Exception):
    """A failed Connect call: the Connect code (e.g. "already_exists") and the broker's message."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def call(base_url, service, method, request, response_type, timeout=30):
    """One unary Connect call with the application/proto codec."""
    http_request = urllib.request.Request(
        f"{base_url.rstrip('/')}/polywire.v1.{service}/{method}",
        data=request.SerializeToString(),
        method="POST",
        headers={
            "Content-Type": "application/proto",
            "Connect-Protocol-Version": "1",
            "Connect-Timeout-Ms": str(timeout * 1000),
        },
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as http_response:
            response = response_type()
            response.ParseFromString(http_response.read())
            return response
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            detail = json.loads(body)
        except ValueError:
            raise ConnectError("unknown", f"HTTP {error.code}: {body[:200]!r}") from None
        raise ConnectError(detail.get("code", "unknown"), detail.get("message", "")) from None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin", default="http://127.0.0.1:7421", help="the broker's admin (HTTP) URL")
    parser.add_argument("--topic", default="python-admin-example", help="topic to create")
    parser.add_argument("--partitions", type=int, default=1, help="partition count of the topic")
    args = parser.parse_args()
    try:
        created = call(
            args.admin,
            "TopicService",
            "CreateTopic",
            admin_pb2.CreateTopicRequest(name=args.topic, partitions=args.partitions),
            admin_pb2.CreateTopicResponse,
        )
        print(f"created {created.topic.name} partitions={len(created.topic.partitions)} partitioner={created.topic.partitioner}")
        listed = call(args.admin, "TopicService", "ListTopics", admin_pb2.ListTopicsRequest(), admin_pb2.ListTopicsResponse)
        for topic in listed.topics:
            print(f"topic {topic.name} partitions={topic.partitions}")
    except ConnectError as error:
        print(f"python-admin: {error.code}: {error.message}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"python-admin: cannot reach {args.admin}: {error.reason}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
