// Package anon is the anonymous provider (anon-user): every login is a new user with an
// identity id of the App Services form "<ObjectId hex>-<24 lowercase letters>".
package anon

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Type is the provider type.
const Type = "anon-user"

// SessionTTL is how long an anonymous session lasts: App Services' anonymous sessions
// did not expire (the user is deleted after a long time without use instead).
const SessionTTL = 50 * 365 * 24 * time.Hour

// Provider is the anonymous provider.
type Provider struct{}

// LinkRefusal implements provider.Unlinkable.
func (Provider) LinkRefusal() string { return "linking an anonymous identity is not allowed" }

// SessionTTL implements provider.SessionLifetime.
func (Provider) SessionTTL() time.Duration { return SessionTTL }

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
