package jwks_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/auth/provider/jwks"
)

// TestCachedKeysDoNotWaitForAFetch: while a made-up kid makes the set be fetched again
// from a key server that hangs, a lookup of a cached key answers at once.
func TestCachedKeysDoNotWaitForAFetch(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":%q}]}`, base64.RawURLEncoding.EncodeToString(pub))
	var requests atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) > 1 {
			close(started)
			<-release // the key server hangs
		}
		fmt.Fprint(w, doc)
	}))
	defer srv.Close()
	defer close(release)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	set, err := jwks.New(srv.URL, "EdDSA", srv.Client(), clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := set.Key(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(jwks.RefetchInterval + time.Second) // a made-up kid may fetch again
	go func() { _, _ = set.Key(ctx, "made-up") }()
	<-started
	// The fetch hangs; a cached key must not wait for it.
	done := make(chan error, 1)
	go func() { _, err := set.Key(ctx, "k1"); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cached key lookup waited for a hung fetch")
	}
}
