"""Creates a topic on a Polywire broker and lists the broker's topics, over gRPC.

Uses only the generated package of gen/python: the messages (admin_pb2) and
the gRPC stubs (admin_pb2_grpc), with grpcio as the runtime (pinned in
scripts/requirements.txt). The admin listener speaks gRPC over HTTP/2
without TLS on its one port, so the channel is an insecure one; with admin
authentication the bearer token travels as the `authorization` metadata.

    .venv/bin/python examples/python-grpc-admin/grpc_admin.py --admin 127.0.0.1:7421 --topic orders --partitions 3
"""

import argparse
import os
import pathlib
import sys

import grpc

# The generated bindings live in gen/python at the root of the repository.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "gen" / "python"))

from polywire.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin", default="127.0.0.1:7421", help="the broker's admin listener, host:port")
    parser.add_argument("--topic", default="python-grpc-admin-example", help="topic to create")
    parser.add_argument("--partitions", type=int, default=1, help="partition count of the topic")
    parser.add_argument("--timeout", type=float, default=30, help="deadline of each call, seconds")
    args = parser.parse_args()
    token = os.environ.get("POLYWIRE_ADMIN_TOKEN")
    metadata = [("authorization", f"Bearer {token}")] if token else []
    with grpc.insecure_channel(args.admin) as channel:
        topics = admin_pb2_grpc.TopicServiceStub(channel)
        cluster = admin_pb2_grpc.ClusterServiceStub(channel)
        try:
            created = topics.CreateTopic(
                admin_pb2.CreateTopicRequest(name=args.topic, partitions=args.partitions),
                metadata=metadata,
                timeout=args.timeout,
            )
            print(f"created {created.topic.name} partitions={len(created.topic.partitions)} partitioner={created.topic.partitioner}")
            for topic in topics.ListTopics(admin_pb2.ListTopicsRequest(), metadata=metadata, timeout=args.timeout).topics:
                print(f"topic {topic.name} partitions={topic.partitions}")
            health = cluster.GetHealth(admin_pb2.GetHealthRequest(), metadata=metadata, timeout=args.timeout)
            print(f"health {admin_pb2.HealthStatus.Name(health.status)}")
        except grpc.RpcError as error:
            # UNAVAILABLE is what grpcio reports when it cannot connect at all.
            if error.code() == grpc.StatusCode.UNAVAILABLE:
                print(f"python-grpc-admin: cannot reach {args.admin}: {error.details()}", file=sys.stderr)
                return 3
            print(f"python-grpc-admin: {error.code().name}: {error.details()}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
