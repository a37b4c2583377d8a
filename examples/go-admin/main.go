// Command go-admin creates a topic on a Polywire broker and lists the
// broker's topics, through the admin services' generated connect-go client
// (gen/go). It speaks the Connect protocol by default, or gRPC / gRPC-Web
// with -protocol; gRPC goes over plaintext HTTP/2 (h2c).
//
//	go run . -admin http://127.0.0.1:7421 -topic orders -partitions 3
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"connectrpc.com/connect"
	polywirev1 "github.com/polywire/polywire/gen/go/polywire/v1"
	"github.com/polywire/polywire/gen/go/polywire/v1/polywirev1connect"
)

func main() {
	admin := flag.String("admin", "http://127.0.0.1:7421", "the broker's admin (HTTP) URL")
	topic := flag.String("topic", "go-admin-example", "topic to create")
	partitions := flag.Uint("partitions", 1, "partition count of the topic")
	protocol := flag.String("protocol", "connect", "connect, grpc or grpcweb")
	flag.Parse()

	client, err := newClient(*admin, *protocol)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-admin:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, client, *topic, uint32(*partitions)); err != nil {
		var connectErr *connect.Error
		if errors.As(err, &connectErr) {
			// The Connect code (e.g. already_exists) and the broker's message, which names the ErrorCode (PW-ERR-005).
			fmt.Fprintf(os.Stderr, "go-admin: %s: %s\n", connectErr.Code(), connectErr.Message())
		} else {
			fmt.Fprintln(os.Stderr, "go-admin:", err)
		}
		os.Exit(1)
	}
}

func newClient(baseURL, protocol string) (polywirev1connect.TopicServiceClient, error) {
	// Plaintext HTTP/2 with prior knowledge (h2c) for gRPC, which needs HTTP/2; HTTP/1.1 otherwise.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	httpClient := &http.Client{Transport: transport}
	var opts []connect.ClientOption
	switch protocol {
	case "connect":
	case "grpc":
		transport.Protocols = new(http.Protocols)
		transport.Protocols.SetUnencryptedHTTP2(true)
		opts = append(opts, connect.WithGRPC())
	case "grpcweb":
		opts = append(opts, connect.WithGRPCWeb())
	default:
		return nil, fmt.Errorf("-protocol must be connect, grpc or grpcweb, got %q", protocol)
	}
	return polywirev1connect.NewTopicServiceClient(httpClient, baseURL, opts...), nil
}

func run(ctx context.Context, client polywirev1connect.TopicServiceClient, topic string, partitions uint32) error {
	created, err := client.CreateTopic(ctx, connect.NewRequest(&polywirev1.CreateTopicRequest{Name: topic, Partitions: partitions}))
	if err != nil {
		return err
	}
	description := created.Msg.GetTopic()
	fmt.Printf("created %s partitions=%d partitioner=%s\n", description.GetName(), len(description.GetPartitions()), description.GetPartitioner())
	listed, err := client.ListTopics(ctx, connect.NewRequest(&polywirev1.ListTopicsRequest{}))
	if err != nil {
		return err
	}
	for _, t := range listed.Msg.GetTopics() {
		fmt.Printf("topic %s partitions=%d\n", t.GetName(), t.GetPartitions())
	}
	return nil
}
