package password_test

import (
	"context"
	"testing"

	"github.com/wardenauth/warden/internal/password"
)

// BenchmarkHashDefault is the cost of one argon2id hash at the default parameters: the
// machine's password-login limit is cores ÷ this time.
func BenchmarkHashDefault(b *testing.B) {
	h, err := password.NewHasher(password.DefaultParams, 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Hash(context.Background(), "benchpass"); err != nil {
			b.Fatal(err)
		}
	}
}
