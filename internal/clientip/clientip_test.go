package clientip

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestOf(t *testing.T) {
	res := Resolver{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, c := range []struct{ peer, xff, want string }{
		{"192.0.2.1:5000", "", "192.0.2.1"},
		{"192.0.2.1:5000", "198.51.100.7", "192.0.2.1"},                          // an untrusted peer's header is ignored
		{"10.0.0.2:5000", "198.51.100.7", "198.51.100.7"},                        // through a trusted proxy
		{"10.0.0.2:5000", "203.0.113.9, 198.51.100.7, 10.0.0.3", "198.51.100.7"}, // the last untrusted hop
		{"10.0.0.2:5000", "garbage", "10.0.0.2"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := res.Of(r); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	if got := (Resolver{}).Of(httptest.NewRequest("GET", "/", nil)); got != "192.0.2.1" {
		t.Errorf("zero resolver: %s", got)
	}
}
