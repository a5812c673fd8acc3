package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/password"
)

// cheap keeps the tests fast; the format and checks are the same at any cost.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

func hasher(t *testing.T, p password.Params, n int) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(p, n)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashAndVerify(t *testing.T) {
	ctx := context.Background()
	h := hasher(t, cheap, 2)
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %q", enc)
	}
	again, _ := h.Hash(ctx, "correct horse")
	if again == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if err := h.Verify(ctx, enc, "correct horse"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := h.Verify(ctx, enc, "correct horsf"); !errors.Is(err, password.ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	// A hash made with other parameters still verifies (they are stored with it).
	other := hasher(t, password.Params{Memory: 128, Time: 2, Threads: 1}, 1)
	if err := other.Verify(ctx, enc, "correct horse"); err != nil {
		t.Fatalf("verify with other current params: %v", err)
	}
	if !other.NeedsRehash(enc) || h.NeedsRehash(enc) {
		t.Fatal("NeedsRehash is wrong")
	}
}

func TestMalformedHashesAreErrorsNotMatches(t *testing.T) {
	h := hasher(t, cheap, 1)
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaA"} {
		err := h.Verify(context.Background(), enc, "x")
		if err == nil || errors.Is(err, password.ErrMismatch) {
			t.Errorf("%q: err = %v, want a format error", enc, err)
		}
	}
}

func TestInvalidParamsRefused(t *testing.T) {
	if _, err := password.NewHasher(password.Params{Memory: 64, Time: 0, Threads: 1}, 1); err == nil {
		t.Fatal("zero passes accepted")
	}
}

// TestCanceledCallersDoNotHash checks that a caller whose request is gone gets its
// context's error instead of a hash (a queue of abandoned logins must not burn CPU).
func TestCanceledCallersDoNotHash(t *testing.T) {
	h := hasher(t, cheap, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash err = %v, want context.Canceled", err)
	}
	enc, _ := h.Hash(context.Background(), "x")
	if err := h.Verify(ctx, enc, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify err = %v, want context.Canceled", err)
	}
}
