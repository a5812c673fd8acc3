package ejson_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/ejson"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestDecodeCanonicalAndRelaxed(t *testing.T) {
	// A body as realm-web sends it (canonical wrappers), mixed with relaxed values.
	m, err := ejson.DecodeObject([]byte(`{"username":"x","n":{"$numberInt":"5"},"l":{"$numberLong":"1099511627776"},"d":2.5,
		"options":{"device":{"deviceId":{"$oid":"65a000000000000000000001"}}},"arr":[{"$numberInt":"1"},"s"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m["username"] != "x" || m["n"] != int32(5) || m["l"] != int64(1099511627776) || m["d"] != 2.5 {
		t.Fatalf("scalars: %#v", m)
	}
	dev := m["options"].(map[string]any)["device"].(map[string]any)
	if id, ok := dev["deviceId"].(bson.ObjectID); !ok || id.Hex() != "65a000000000000000000001" {
		t.Fatalf("deviceId = %#v", dev["deviceId"])
	}
	if arr := m["arr"].([]any); arr[0] != int32(1) || arr[1] != "s" {
		t.Fatalf("array = %#v", arr)
	}
}

func TestDecodeRefusesNonObjects(t *testing.T) {
	for _, in := range []string{`[1]`, `"s"`, `5`, `null`} {
		if _, err := ejson.DecodeObject([]byte(in)); !errors.Is(err, ejson.ErrNotObject) {
			t.Errorf("%s: err = %v", in, err)
		}
	}
	for _, in := range []string{`{`, `{"a":}`, `{"a":{"$oid":"zz"}}`} {
		if _, err := ejson.DecodeObject([]byte(in)); err == nil {
			t.Errorf("%s decoded", in)
		}
	}
	if m, err := ejson.DecodeObject(nil); err != nil || len(m) != 0 {
		t.Errorf("empty body: %v %v", m, err)
	}
}

func TestDepthIsBounded(t *testing.T) {
	nest := func(n int) string {
		return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`
	}
	if _, err := ejson.DecodeDocument([]byte(nest(ejson.MaxDepth))); err != nil {
		t.Fatalf("a body exactly MaxDepth deep: %v", err)
	}
	for _, in := range []string{nest(ejson.MaxDepth + 1), nest(400_000)} {
		if _, err := ejson.DecodeDocument([]byte(in)); !errors.Is(err, ejson.ErrTooDeep) {
			t.Errorf("%d bytes of nesting: err = %v, want ErrTooDeep", len(in), err)
		}
	}
	// Brackets inside strings, escaped quotes included, are text, not nesting.
	text := `{"s":"` + strings.Repeat(`[{\"`, 500) + `"}`
	if _, err := ejson.DecodeDocument([]byte(text)); err != nil {
		t.Fatalf("brackets in a string counted as nesting: %v", err)
	}
}

// TestDuplicateKeysAreRefused: a key given twice would be read one way by the rules and
// another by MongoDB.
func TestDuplicateKeysAreRefused(t *testing.T) {
	for _, in := range []string{`{"a":1,"a":2}`, `{"x":{"owner_id":"alice","owner_id":"bob"}}`, `{"l":[{"k":1,"k":1}]}`} {
		if _, err := ejson.DecodeDocument([]byte(in)); err == nil {
			t.Errorf("%s decoded", in)
		}
	}
}
