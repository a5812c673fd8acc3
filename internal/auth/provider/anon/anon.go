// Package anon is the anonymous provider (anon-user): every login is a new user with an
// identity id of the App Services form "<ObjectId hex>-<24 lowercase letters>".
package anon

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Type is the provider type.
const Type = "anon-user"

// Provider is the anonymous provider.
type Provider struct{}

// New builds the anonymous provider; it has no configuration.
func New(*appconfig.Provider, provider.Deps) (provider.Provider, error) { return Provider{}, nil }

// Authenticate implements provider.Provider: it always succeeds with a new identity.
func (Provider) Authenticate(context.Context, provider.Credentials) (provider.Identity, error) {
	letters := make([]byte, 24)
	if _, err := rand.Read(letters); err != nil {
		return provider.Identity{}, fmt.Errorf("anon: random id: %w", err)
	}
	for i, b := range letters {
		letters[i] = 'a' + b%26
	}
	return provider.Identity{ID: bson.NewObjectID().Hex() + "-" + string(letters)}, nil
}
