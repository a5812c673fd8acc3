package clientapi_test

import (
	"encoding/json"
	"testing"
)

// FuzzLoginBody posts arbitrary bodies to every provider's login (and to the email and
// function endpoints): whatever arrives, the answer is a success or the protocol's error
// shape with a 4xx status, never a 500 or a panic.
func FuzzLoginBody(f *testing.F) {
	e := newEnv(f)
	paths := []string{
		"/auth/providers/anon-user/login",
		"/auth/providers/local-userpass/login",
		"/auth/providers/api-key/login",
		"/auth/providers/custom-token/login",
		"/auth/providers/oauth2-github/login",
		"/auth/providers/local-userpass/register",
		"/auth/providers/local-userpass/confirm",
		"/auth/providers/local-userpass/reset/send",
		"/functions/call",
	}
	for i, seed := range []string{
		`{"options":{"device":{"deviceId":{"$oid":"65a000000000000000000001"},"platform":"node"}}}`,
		`{"username":"a@b.c","password":"password1"}`,
		`{"key":"0123456789abcdef"}`,
		`{"token":"a.b.c"}`,
		`{"id_token":"x"}`,
		`{"email":"a@b.c","password":"x"}`,
		`{"token":"t","tokenId":"i"}`,
		`{"email":["x"]}`,
		`{"name":"x","arguments":{"$numberInt":"1"}}`,
		`{"options":{"device":"x"}}`, `{"username":{"$oid":"65a000000000000000000001"}}`, `[]`, `{`,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := e.appPath(paths[int(which)%len(paths)])
		r := e.do(t, "POST", path, map[string]string{"Content-Type": "application/json"}, string(body))
		if r.status >= 500 && r.status != 501 { // 501: a provider type this build does not serve
			t.Fatalf("POST %s %q: %d %s", path, body, r.status, r.body)
		}
		if r.status >= 400 {
			var m map[string]any
			if err := json.Unmarshal(r.body, &m); err != nil || m["error_code"] == nil || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("POST %s %q: %d with a body that is not the error shape: %q", path, body, r.status, r.body)
			}
		}
	})
}
