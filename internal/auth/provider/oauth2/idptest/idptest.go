// Package idptest runs a local identity provider over HTTPS for tests: it signs real
// RS256 id tokens with a real key published as a JWK set, exchanges authorization codes
// at a token endpoint, consents at once on its authorize page, and answers Facebook's
// Graph API calls (debug_token, me, oauth/access_token). One IdP plays Google, Apple or
// Facebook depending on the endpoints a provider is configured with.
package idptest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// IdP is a running identity provider.
type IdP struct {
	Server       *httptest.Server
	Key          *rsa.PrivateKey
	KID          string
	ClientID     string
	ClientSecret string

	mu        sync.Mutex
	codes     map[string]map[string]any // code → id token claims (or Facebook user)
	fbTokens  map[string]fbToken
	nextLogin map[string]any
	// Exchanges counts successful code exchanges.
	Exchanges int
}

type fbToken struct {
	appID string
	user  map[string]any
}

// Start runs an IdP for one client.
func Start(clientID, clientSecret string) (*IdP, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p := &IdP{Key: key, KID: "idp-key-1", ClientID: clientID, ClientSecret: clientSecret,
		codes: map[string]map[string]any{}, fbTokens: map[string]fbToken{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /oauth/access_token", p.fbExchange)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("GET /debug_token", p.debugToken)
	mux.HandleFunc("GET /me", p.me)
	p.Server = httptest.NewTLSServer(mux)
	return p, nil
}

// Close stops the IdP.
func (p *IdP) Close() { p.Server.Close() }

// URL is the IdP's base URL (also its issuer).
func (p *IdP) URL() string { return p.Server.URL }

// Config is the JSON of a provider config pointing at this IdP.
func (p *IdP) Config() string {
	return fmt.Sprintf(`{"clientId": %q, "issuer": %q, "jwksUri": %q, "authUri": %q, "tokenUri": %q, "graphUrl": %q}`,
		p.ClientID, p.URL(), p.URL()+"/jwks", p.URL()+"/authorize", p.URL()+"/token", p.URL())
}

// FacebookConfig is the JSON of an oauth2-facebook config pointing at this IdP.
func (p *IdP) FacebookConfig() string {
	return fmt.Sprintf(`{"clientId": %q, "authUri": %q, "tokenUri": %q, "graphUrl": %q}`,
		p.ClientID, p.URL()+"/authorize", p.URL()+"/oauth/access_token", p.URL())
}

// WriteCA writes the IdP's certificate to dir and returns the file, for SSL_CERT_FILE.
func (p *IdP) WriteCA(dir string) (string, error) {
	f := filepath.Join(dir, "idp-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Server.Certificate().Raw})
	return f, os.WriteFile(f, b, 0o644)
}

// IDToken signs an id token: iss, aud, iat and exp default to this IdP, its client and
// now; a nil value removes a claim.
func (p *IdP) IDToken(claims map[string]any) string {
	return p.SignWith(p.Key, p.KID, claims)
}

// SignWith signs claims (with the defaults of IDToken) with any key and kid.
func (p *IdP) SignWith(key *rsa.PrivateKey, kid string, claims map[string]any) string {
	c := jwt.MapClaims{"iss": p.URL(), "aud": p.ClientID, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		panic(err)
	}
	return s
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Code registers an authorization code that exchanges for an id token with claims.
func (p *IdP) Code(claims map[string]any) string {
	code := random()
	p.mu.Lock()
	p.codes[code] = claims
	p.mu.Unlock()
	return code
}

// FacebookToken registers a user access token for appID and the Graph user.
func (p *IdP) FacebookToken(appID string, user map[string]any) string {
	tok := "EAA" + random()
	p.mu.Lock()
	p.fbTokens[tok] = fbToken{appID: appID, user: user}
	p.mu.Unlock()
	return tok
}

// NextLogin sets who consents on the authorize page next (id token claims, or for
// Facebook the Graph user).
func (p *IdP) NextLogin(claims map[string]any) {
	p.mu.Lock()
	p.nextLogin = claims
	p.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (p *IdP) jwks(w http.ResponseWriter, _ *http.Request) {
	b64 := base64.RawURLEncoding.EncodeToString
	writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": p.KID, "alg": "RS256", "use": "sig",
		"n": b64(p.Key.N.Bytes()), "e": b64(big.NewInt(int64(p.Key.E)).Bytes()),
	}}})
}

func (p *IdP) takeCode(r *http.Request, code string) (map[string]any, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	claims, ok := p.codes[code]
	delete(p.codes, code)
	if ok {
		p.Exchanges++
	}
	return claims, ok
}

func (p *IdP) clientOK(id, secret string) bool {
	return id == p.ClientID && hmac.Equal([]byte(secret), []byte(p.ClientSecret))
}

func (p *IdP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		writeJSON(w, 400, map[string]string{"error": "invalid_request"})
		return
	}
	if !p.clientOK(r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")) {
		writeJSON(w, 401, map[string]string{"error": "invalid_client"})
		return
	}
	claims, ok := p.takeCode(r, r.PostForm.Get("code"))
	if !ok {
		writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": random(), "token_type": "Bearer", "expires_in": 3600, "id_token": p.IDToken(claims)})
}

func (p *IdP) fbExchange(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !p.clientOK(q.Get("client_id"), q.Get("client_secret")) {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"message": "bad client"}})
		return
	}
	user, ok := p.takeCode(r, q.Get("code"))
	if !ok {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"message": "bad code"}})
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": p.FacebookToken(p.ClientID, user), "token_type": "bearer"})
}

func (p *IdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad authorize request", 400)
		return
	}
	p.mu.Lock()
	claims := p.nextLogin
	p.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || claims == nil {
		http.Error(w, "nobody to log in", 400)
		return
	}
	v := back.Query()
	v.Set("code", p.Code(claims))
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *IdP) debugToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, secret, _ := strings.Cut(q.Get("access_token"), "|")
	if !p.clientOK(id, secret) {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"message": "invalid app access token"}})
		return
	}
	p.mu.Lock()
	tok, ok := p.fbTokens[q.Get("input_token")]
	p.mu.Unlock()
	if !ok {
		writeJSON(w, 200, map[string]any{"data": map[string]any{"is_valid": false}})
		return
	}
	writeJSON(w, 200, map[string]any{"data": map[string]any{"is_valid": true, "app_id": tok.appID, "user_id": tok.user["id"]}})
}

func (p *IdP) me(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	tok, ok := p.fbTokens[q.Get("access_token")]
	p.mu.Unlock()
	mac := hmac.New(sha256.New, []byte(p.ClientSecret))
	mac.Write([]byte(q.Get("access_token")))
	if !ok || q.Get("appsecret_proof") != hex.EncodeToString(mac.Sum(nil)) {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"message": "invalid token or appsecret_proof"}})
		return
	}
	writeJSON(w, 200, tok.user)
}
