package clientapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/wardenauth/warden/internal/ratelimit"
	"github.com/wardenauth/warden/internal/store"
)

const codeTooManyRequests = "TooManyRequests"

// check is one limit to count a request against, and its key.
type check struct {
	name ratelimit.Name
	key  string
}

// limit counts the request against each check. The tightest decision is shown in the
// RateLimit-* headers; when one refuses, limit sets Retry-After and returns the 429 error
// to answer with.
func (a *api) limit(w http.ResponseWriter, r *http.Request, checks ...check) error {
	if a.limiter == nil {
		return nil
	}
	var tightest *ratelimit.Decision
	for _, c := range checks {
		d := a.limiter.Allow(r.Context(), c.name, c.key)
		if d.Limit.Max <= 0 {
			continue
		}
		if tightest == nil || !d.Allowed || (tightest.Allowed && d.Remaining < tightest.Remaining) {
			dd := d
			tightest = &dd
		}
		if !d.Allowed {
			break
		}
	}
	if tightest == nil {
		return nil
	}
	h := w.Header()
	reset := max(int(math.Ceil(time.Until(tightest.Reset).Seconds())), 1)
	h.Set("RateLimit-Limit", strconv.Itoa(tightest.Limit.Max))
	h.Set("RateLimit-Remaining", strconv.Itoa(tightest.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(reset))
	if tightest.Allowed {
		return nil
	}
	h.Set("Retry-After", strconv.Itoa(reset))
	return &apiError{http.StatusTooManyRequests, codeTooManyRequests,
		fmt.Sprintf("too many requests: the %s limit (%d per %s) was reached; retry in %d s", tightest.Limit.Name, tightest.Limit.Max, tightest.Limit.Window, reset)}
}

// limitKeyIP is the key an address is counted under: itself for IPv4, its /64 for IPv6,
// since one IPv6 client usually holds a whole /64 and could otherwise step around every
// per-address limit by changing addresses.
func limitKeyIP(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Unmap().Is4() {
		return ip
	}
	prefix, err := addr.Prefix(64)
	if err != nil {
		return ip
	}
	return prefix.String()
}

// clientIP is the address the request came from, through the trusted proxies.
func (a *api) clientIP(r *http.Request) string { return a.ips.Of(r) }

// accountKey names an account for the per-account limits: the app and the email (as
// compared), or a hash of a secret (an API key) so that no secret is kept in a counter.
func accountKey(app, email string) string { return app + "|" + store.EmailKey(email) }

func secretKey(app, secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return app + "|#" + hex.EncodeToString(sum[:12])
}
