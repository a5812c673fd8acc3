// Package apikey is the API key provider (api-key): a key logs in as the user that owns
// it, a normal user for user API keys and a server user for server API keys. Keys are
// 64 random letters and digits; only their SHA-256 hash is stored.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/store"
)

// Type is the provider type.
const Type = "api-key"

// KeyLength is the number of characters of a key.
const KeyLength = 64

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewKey returns a new random key.
func NewKey() (string, error) {
	b := make([]byte, KeyLength)
	for i := 0; i < KeyLength; {
		var r [1]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", fmt.Errorf("apikey: random: %w", err)
		}
		if int(r[0]) >= 256-256%len(alphabet) { // no modulo bias
			continue
		}
		b[i] = alphabet[int(r[0])%len(alphabet)]
		i++
	}
	return string(b), nil
}

// Hash is the stored form of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Provider checks API keys.
type Provider struct {
	appID string
	store provider.APIKeyReader
}

// New builds the provider; it has no configuration.
func New(_ *appconfig.Provider, deps provider.Deps) (provider.Provider, error) {
	return &Provider{appID: deps.AppID, store: deps.APIKeys}, nil
}

// Authenticate implements provider.Provider. Unknown and disabled keys both give
// provider.ErrInvalidCredentials.
func (p *Provider) Authenticate(ctx context.Context, creds provider.Credentials) (provider.Identity, error) {
	key, err := creds.String("key")
	if err != nil {
		return provider.Identity{}, err
	}
	if len(key) != KeyLength {
		return provider.Identity{}, provider.ErrInvalidCredentials
	}
	k, err := p.store.GetAPIKeyByHash(ctx, p.appID, Hash(key))
	if errors.Is(err, store.ErrNotFound) {
		return provider.Identity{}, provider.ErrInvalidCredentials
	}
	if err != nil {
		return provider.Identity{}, fmt.Errorf("apikey: %w", err)
	}
	if k.Disabled {
		return provider.Identity{}, provider.ErrInvalidCredentials
	}
	return provider.Identity{ID: k.ID, UserID: k.UserID, APIKeyID: k.ID}, nil
}

// BareSecret implements provider.BareSecret: a key is guessed against every user at once.
func (*Provider) BareSecret() {}

// LinkRefusal implements provider.Unlinkable: a key logs in as its owner already.
func (*Provider) LinkRefusal() string {
	return "linking an API key is not allowed: a key already logs in as its owner"
}

// AccountKey implements provider.AccountKeyed: the key's hash (never the key), for the
// per-account rate limit; a wrong key does not lock anything.
func (*Provider) AccountKey(creds provider.Credentials) (string, bool) {
	key, _ := creds["key"].(string)
	if key == "" {
		return "", false
	}
	return "api-key:" + hex.EncodeToString(Hash(key)), false
}
