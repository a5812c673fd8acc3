// Package clientip tells the address a request came from, through trusted reverse
// proxies: the one rule that rate limits, the audit log and functions' context.request
// all use.
package clientip

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds client addresses; Trusted are the proxies whose X-Forwarded-For is
// believed (--trusted-proxy). The zero Resolver trusts no proxy.
type Resolver struct {
	Trusted []netip.Prefix
}

// Of is the address r came from: the peer, or, when the peer is a trusted proxy, the
// last address in X-Forwarded-For that is not a trusted proxy.
func (res Resolver) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !res.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !res.trusted(ip) {
			return ip.String()
		}
	}
	return host
}

func (res Resolver) trusted(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range res.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
