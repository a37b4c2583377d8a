module github.com/polywire/polywire/gen/test/go

go 1.26.0

require (
	github.com/polywire/polywire/gen/go v0.0.0
	google.golang.org/protobuf v1.36.12
)

replace github.com/polywire/polywire/gen/go => ../../go
