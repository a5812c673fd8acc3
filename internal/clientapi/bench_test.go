package clientapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/clientapi"
	"github.com/wardenauth/warden/internal/password"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/token"
)

// benchHandler is the whole client API on SQLite with durable commits, as served.
func benchHandler(b *testing.B, params password.Params) http.Handler {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "w.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	key, _ := token.GenerateEd25519PEM()
	ring, _ := token.NewRing(key)
	h, _ := password.NewHasher(params, 0)
	svc, _, err := auth.New(auth.Options{Store: st, Ring: ring, Hasher: h, Apps: []*appconfig.App{{ClientAppID: "a", DomainID: "d",
		Providers: map[string]*appconfig.Provider{
			"anon-user":      {Name: "anon-user", Type: "anon-user"},
			"local-userpass": {Name: "local-userpass", Type: "local-userpass", Config: json.RawMessage(`{"autoConfirm": true}`)},
		}}}})
	if err != nil {
		b.Fatal(err)
	}
	return clientapi.New(svc, clientapi.Options{})
}

func serve(h http.Handler, method, path, bearer, body string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func loginTokens(b *testing.B, rec *httptest.ResponseRecorder) map[string]string {
	var m map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != 200 {
		b.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	return m
}

// BenchmarkAnonLogin is many clients logging in anonymously at once (group commit).
func BenchmarkAnonLogin(b *testing.B) {
	h := benchHandler(b, password.DefaultParams)
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serve(h, "POST", "/api/client/v2.0/app/a/auth/providers/anon-user/login", "", `{}`); rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

func BenchmarkRefresh(b *testing.B) {
	h := benchHandler(b, password.DefaultParams)
	m := loginTokens(b, serve(h, "POST", "/api/client/v2.0/app/a/auth/providers/anon-user/login", "", `{}`))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serve(h, "POST", "/api/client/v2.0/auth/session", m["refresh_token"], ""); rec.Code != 201 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

func BenchmarkProfile(b *testing.B) {
	h := benchHandler(b, password.DefaultParams)
	m := loginTokens(b, serve(h, "POST", "/api/client/v2.0/app/a/auth/providers/anon-user/login", "", `{}`))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serve(h, "GET", "/api/client/v2.0/auth/profile", m["access_token"], ""); rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkPasswordLogin is bound by argon2id at the default cost.
func BenchmarkPasswordLogin(b *testing.B) {
	h := benchHandler(b, password.DefaultParams)
	if rec := serve(h, "POST", "/api/client/v2.0/app/a/auth/providers/local-userpass/register", "", `{"email":"b@example.com","password":"benchpass"}`); rec.Code != 201 {
		b.Fatalf("register: %d", rec.Code)
	}
	b.SetParallelism(2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := serve(h, "POST", "/api/client/v2.0/app/a/auth/providers/local-userpass/login", "", `{"username":"b@example.com","password":"benchpass"}`); rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}
