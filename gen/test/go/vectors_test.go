// Package vectors_test proves that the Go bindings (gen/go) read and write
// every message vector of spec/vectors byte for byte, like the TypeScript and
// Python bindings do.
package vectors_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	polywirev1 "github.com/polywire/polywire/gen/go/polywire/v1"
)

type vector struct {
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Clauses  []string        `json:"clauses"`
	JSON     json.RawMessage `json:"json"`
	Hex      string          `json:"hex"`
	KnownHex string          `json:"knownHex"`
}

var vectorDir = filepath.Join("..", "..", "..", "spec", "vectors")

func load(t *testing.T, file string) []vector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorDir, file))
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	var doc struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	if len(doc.Vectors) == 0 {
		t.Fatalf("%s has no vectors", file)
	}
	return doc.Vectors
}

func newMessage(t *testing.T, name string) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	if err != nil {
		t.Fatalf("no Go type for %s: %v", name, err)
	}
	return mt.New().Interface()
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// Map entries are written in key order, as the vectors list them.
var deterministic = proto.MarshalOptions{Deterministic: true}

func sameJSON(t *testing.T, got []byte, want json.RawMessage) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("protojson output: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("vector json: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs:\n got %s\nwant %s", got, want)
	}
}

func title(v vector) string {
	return strings.Join(v.Clauses, "_") + "/" + v.Name
}

var messageFiles = []string{"handshake.json", "log.json", "groups.json", "pubsub.json", "rpc.json", "admin.json"}

func TestMessageVectorsRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, file := range messageFiles {
		for _, v := range load(t, file) {
			seen[v.Type] = true
			t.Run(title(v), func(t *testing.T) {
				want := mustHex(t, v.Hex)
				msg := newMessage(t, v.Type)
				if err := proto.Unmarshal(want, msg); err != nil {
					t.Fatalf("unmarshal: %v", err)
				}
				got, err := deterministic.Marshal(msg)
				if err != nil {
					t.Fatalf("marshal: %v", err)
				}
				if hex.EncodeToString(got) != v.Hex {
					t.Errorf("re-encoded\n got %x\nwant %s", got, v.Hex)
				}
				out, err := protojson.Marshal(msg)
				if err != nil {
					t.Fatalf("protojson: %v", err)
				}
				sameJSON(t, out, v.JSON)
				fromJSON := newMessage(t, v.Type)
				if err := protojson.Unmarshal(v.JSON, fromJSON); err != nil {
					t.Fatalf("protojson unmarshal: %v", err)
				}
				encoded, err := deterministic.Marshal(fromJSON)
				if err != nil {
					t.Fatalf("marshal: %v", err)
				}
				if hex.EncodeToString(encoded) != v.Hex {
					t.Errorf("encoded from json\n got %x\nwant %s", encoded, v.Hex)
				}
			})
		}
	}
	// PW-COMPAT-010: every message of every proto file of the package has a vector.
	files := []protoreflect.FileDescriptor{
		polywirev1.File_polywire_v1_admin_proto, polywirev1.File_polywire_v1_common_proto, polywirev1.File_polywire_v1_groups_proto,
		polywirev1.File_polywire_v1_log_proto, polywirev1.File_polywire_v1_pubsub_proto, polywirev1.File_polywire_v1_rpc_proto,
		polywirev1.File_polywire_v1_session_proto,
	}
	for _, fd := range files {
		for i := 0; i < fd.Messages().Len(); i++ {
			if name := string(fd.Messages().Get(i).FullName()); !seen[name] {
				t.Errorf("no vector for %s", name)
			}
		}
	}
}

// PW-COMPAT-003 and PW-COMPAT-004: unknown fields and enum values survive
// decoding; Go keeps unknown fields, so re-encoding gives the input back.
func TestCompatVectors(t *testing.T) {
	for _, v := range load(t, "compat.json") {
		t.Run(title(v), func(t *testing.T) {
			msg := newMessage(t, v.Type)
			if err := proto.Unmarshal(mustHex(t, v.Hex), msg); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			got, err := deterministic.Marshal(msg)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if hex.EncodeToString(got) != v.Hex {
				t.Errorf("re-encoded\n got %x\nwant %s", got, v.Hex)
			}
			out, err := protojson.Marshal(msg)
			if err != nil {
				t.Fatalf("protojson: %v", err)
			}
			sameJSON(t, out, v.JSON)
		})
	}
}
