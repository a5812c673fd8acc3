package ejson_test

import (
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/ejson"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// FuzzDecode feeds arbitrary bodies to the Extended JSON decoder that reads every
// request: it must never panic, and what it accepts must be a document that encodes again.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"username":"a@b.c","password":"password1","options":{"device":{"deviceId":{"$oid":"65a000000000000000000001"}}}}`,
		`{"name":"sum","arguments":[{"$numberInt":"1"},{"$numberDouble":"2.5"},"s",{"d":{"$date":{"$numberLong":"0"}}},null,true]}`,
		`{"arguments":[{"database":"db","collection":"c","query":{"_id":{"$eq":{"$oid":"65a000000000000000000002"}}}}],"name":"findOne","service":"mongodb-atlas"}`,
		`{"a":{"$numberLong":"9223372036854775807"},"b":{"$binary":{"base64":"AA==","subType":"00"}}}`,
		`{"a":{"$regularExpression":{"pattern":"x","options":"i"}}}`,
		`{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
		`{"a":"` + strings.Repeat(`\\"[`, 50) + `"}`,
		`{`, `[]`, `"s"`, `{"a":{"$oid":"zz"}}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ejson.DecodeDocument(data)
		if err != nil {
			return
		}
		if ejson.CheckDepth(data, ejson.MaxDepth) != nil {
			t.Fatalf("decoded %q, nested deeper than MaxDepth", data)
		}
		if _, err := bson.Marshal(d); err != nil {
			t.Fatalf("decoded %q into a document that does not encode: %v", data, err)
		}
		_ = ejson.Plain(d)
	})
}
