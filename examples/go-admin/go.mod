module github.com/polywire/polywire/examples/go-admin

go 1.26.0

require (
	connectrpc.com/connect v1.21.1
	github.com/polywire/polywire/gen/go v0.0.0
)

require google.golang.org/protobuf v1.36.12 // indirect

replace github.com/polywire/polywire/gen/go => ../../gen/go
