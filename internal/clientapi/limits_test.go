package clientapi_test

import (
	"net/netip"
	"testing"

	"github.com/wardenauth/warden/internal/clientapi"
	"github.com/wardenauth/warden/internal/ratelimit"
)

func limiter(t *testing.T, specs ...string) *ratelimit.Limiter {
	t.Helper()
	var overrides []ratelimit.Limit
	for _, s := range specs {
		l, err := ratelimit.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		overrides = append(overrides, l)
	}
	l, err := ratelimit.New(ratelimit.NewMemory(), ratelimit.Options{Overrides: overrides})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestIPv6ClientsAreLimitedByTheirSlash64: changing addresses inside one /64 does not
// reset a per-address limit.
func TestIPv6ClientsAreLimitedByTheirSlash64(t *testing.T) {
	e := newEnvWith(t, clientapi.Options{Limiter: limiter(t, "login.ip=2/1m"), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	login := e.appPath("/auth/providers/anon-user/login")
	from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2:ffff::7"} {
		if r := e.do(t, "POST", login, from(ip), `{}`); r.status != 200 {
			t.Fatalf("login from %s: %d %s", ip, r.status, r.body)
		}
	}
	expectError(t, e.do(t, "POST", login, from("2001:db8:1:2:abcd::9"), `{}`), 429, "TooManyRequests")
	// Another /64 has its own count, and so has an IPv4 client.
	for _, ip := range []string{"2001:db8:1:3::1", "192.0.2.1"} {
		if r := e.do(t, "POST", login, from(ip), `{}`); r.status != 200 {
			t.Fatalf("login from %s: %d %s", ip, r.status, r.body)
		}
	}
}

// TestFunctionCallsAreRateLimited: functions/call counts against its own limits, per
// user and per address.
func TestFunctionCallsAreRateLimited(t *testing.T) {
	e := newEnvWith(t, clientapi.Options{Limiter: limiter(t, "function.user=2/1m")})
	r := e.do(t, "POST", e.appPath("/auth/providers/anon-user/login"), nil, `{}`)
	tok := r.json(t)["access_token"].(string)
	call := e.appPath("/functions/call")
	for range 2 {
		r := e.do(t, "POST", call, bearer(tok), `{"name":"nope","arguments":[]}`)
		if r.status == 429 {
			t.Fatalf("refused before the limit: %s", r.body)
		}
	}
	expectError(t, e.do(t, "POST", call, bearer(tok), `{"name":"nope","arguments":[]}`), 429, "TooManyRequests")
}

// TestAPIKeyLoginsHaveTheirOwnAddressLimit: an API key is a bare secret, guessed against
// every user at once, so its logins count against apikey.ip besides login.ip; other
// providers' logins from the same address do not.
func TestAPIKeyLoginsHaveTheirOwnAddressLimit(t *testing.T) {
	e := newEnvWith(t, clientapi.Options{Limiter: limiter(t, "apikey.ip=2/1m")})
	keyLogin := e.appPath("/auth/providers/api-key/login")
	for range 2 {
		expectError(t, e.do(t, "POST", keyLogin, nil, `{"key":"not-a-key"}`), 401, "InvalidPassword")
	}
	expectError(t, e.do(t, "POST", keyLogin, nil, `{"key":"not-a-key"}`), 429, "TooManyRequests")
	for range 3 {
		if r := e.do(t, "POST", e.appPath("/auth/providers/anon-user/login"), nil, `{}`); r.status != 200 {
			t.Fatalf("anonymous login from the same address: %d %s", r.status, r.body)
		}
	}
}
