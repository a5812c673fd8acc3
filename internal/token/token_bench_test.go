package token_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/token"
)

func benchRing(b *testing.B) *token.Ring {
	p, err := token.GenerateEd25519PEM()
	if err != nil {
		b.Fatal(err)
	}
	r, err := token.NewRing(p)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

var accessParams = token.AccessParams{AppID: "app", DomainID: "d", UserID: "6b052766b727aed4199639d8", SessionID: "6b052766b727aed4199639d7",
	DeviceID: "6b052766b727aed4199639d6", TTL: 30 * time.Minute}

func BenchmarkMintAccess(b *testing.B) {
	r := benchRing(b)
	p := accessParams
	p.IssuedAt = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.MintAccess(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMintRefresh(b *testing.B) {
	r := benchRing(b)
	p := token.RefreshParams{AppID: "app", UserID: "u", SessionSecret: "0123456789abcdef0123456789abcdef", IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.MintRefresh(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAccessFirstSight verifies tokens never seen before (signature checked).
func BenchmarkVerifyAccessFirstSight(b *testing.B) {
	r := benchRing(b)
	toks := make([]string, 4096)
	mint := func() {
		for i := range toks {
			p := accessParams
			p.SessionID = fmt.Sprintf("%024x", i)
			p.IssuedAt = time.Now()
			toks[i], _ = r.MintAccess(p)
		}
	}
	mint()
	now := time.Now().Add(5 * time.Minute)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(toks) {
			b.StopTimer()
			r = benchRing(b) // a fresh cache
			mint()
			i = 0
			b.StartTimer()
		}
		if _, err := r.Verify(toks[i], token.TypeAccess, now); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkVerifyAccessAgain verifies a token already verified (the common case: a
// client sends its access token with every request).
func BenchmarkVerifyAccessAgain(b *testing.B) {
	r := benchRing(b)
	p := accessParams
	p.IssuedAt = time.Now()
	tok, _ := r.MintAccess(p)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Verify(tok, token.TypeAccess, now); err != nil {
			b.Fatal(err)
		}
	}
}
