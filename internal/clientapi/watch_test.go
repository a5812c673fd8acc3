package clientapi

import (
	"strings"
	"testing"
)

// decodeSSEData is realm-web's WatchStream decoding of a data line: %25, %0A and %0D
// become %, LF and CR; any other %xx stays as it is.
func decodeSSEData(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			switch s[i+1 : i+3] {
			case "25":
				b.WriteByte('%')
				i += 2
				continue
			case "0A":
				b.WriteByte('\n')
				i += 2
				continue
			case "0D":
				b.WriteByte('\r')
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestSSEEscapeRoundTrips(t *testing.T) {
	for _, in := range []string{
		`{"fullDocument":{"str":"a%b"}}`,
		"{\"s\":\"line\nbreak\rreturn\"}",
		`{"s":"%0A literally, and %25 too"}`,
		`{"s":"100%"}`,
	} {
		enc := sseEscape(in)
		if strings.ContainsAny(enc, "\r\n") {
			t.Errorf("%q: the data line still holds a line break: %q", in, enc)
		}
		if got := decodeSSEData(enc); got != in {
			t.Errorf("%q: realm-web would decode %q", in, got)
		}
	}
}
