package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/wardenauth/warden/internal/auth/provider/anon"
	"github.com/wardenauth/warden/internal/auth/provider/apikey"
	"github.com/wardenauth/warden/internal/store"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// API key limits, as App Services had them.
const (
	MaxUserAPIKeys   = 20
	MaxServerAPIKeys = 100
	maxKeyNameLength = 100
)

var keyNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// APIKey is a key as its owner sees it. Key is set only when the key is created.
type APIKey struct {
	ID       string
	Key      string
	Name     string
	Disabled bool
}

func apiKeyOf(k store.APIKey) APIKey { return APIKey{ID: k.ID, Name: k.Name, Disabled: k.Disabled} }

func apiKeysOf(keys []store.APIKey) []APIKey {
	out := make([]APIKey, len(keys))
	for i, k := range keys {
		out[i] = apiKeyOf(k)
	}
	return out
}

func validKeyName(name string) error {
	if name == "" || len(name) > maxKeyNameLength || !keyNamePattern.MatchString(name) {
		return fail(ErrInvalidParameter, fmt.Sprintf("API key name %q is invalid: it must have 1 to %d characters and can only contain ASCII letters, numbers, underscores, and hyphens", name, maxKeyNameLength))
	}
	return nil
}

// apiKeysEnabled checks that the app has its api-key provider enabled.
func apiKeysEnabled(app *App) error {
	_, err := app.provider(apikey.Type)
	return err
}

// CreateAPIKey creates a user API key for the user of p and returns it with its secret,
// which is never shown again.
func (s *APIKeys) CreateAPIKey(ctx context.Context, p Principal, name string) (APIKey, error) {
	if err := apiKeysEnabled(p.App); err != nil {
		return APIKey{}, err
	}
	if err := validKeyName(name); err != nil {
		return APIKey{}, err
	}
	u, err := s.store.GetUser(ctx, p.App.ClientAppID, p.UserID)
	if err != nil {
		return APIKey{}, fail(ErrInvalidSession, "invalid session: user not found")
	}
	onlyAnonymous := true
	for _, id := range u.Identities {
		if id.ProviderType != anon.Type {
			onlyAnonymous = false
		}
	}
	if onlyAnonymous {
		return APIKey{}, fail(ErrForbidden, "anonymous users cannot create API keys")
	}
	if u.Type == store.UserTypeServer {
		// A key made by a server key's user would outlive that key's deletion.
		return APIKey{}, fail(ErrForbidden, "server API key users cannot create API keys")
	}
	key, err := apikey.NewKey()
	if err != nil {
		return APIKey{}, err
	}
	k := store.APIKey{AppID: p.App.ClientAppID, ID: bson.NewObjectID().Hex(), UserID: p.UserID, Name: name, Hash: apikey.Hash(key), CreatedAt: s.clock.Now()}
	err = s.store.CreateAPIKey(ctx, k, MaxUserAPIKeys)
	switch {
	case errors.Is(err, store.ErrNameTaken):
		return APIKey{}, fail(ErrAPIKeyExists, fmt.Sprintf("an API key named %q already exists", name))
	case errors.Is(err, store.ErrLimitReached):
		return APIKey{}, fail(ErrInvalidParameter, fmt.Sprintf("a user can have at most %d API keys", MaxUserAPIKeys))
	case errors.Is(err, store.ErrNotFound):
		return APIKey{}, fail(ErrInvalidSession, "invalid session: user not found")
	case err != nil:
		return APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	s.log.InfoContext(ctx, "api key created", "app", p.App.ClientAppID, "user", p.UserID, "key", k.ID)
	s.recordAudit(store.AuditEvent{AppID: p.App.ClientAppID, Actor: "user:" + p.UserID, Action: "api_key_created", Target: k.ID, Outcome: "success", Detail: name})
	out := apiKeyOf(k)
	out.Key = key
	return out, nil
}

// ListAPIKeys lists the keys of the user of p.
func (s *APIKeys) ListAPIKeys(ctx context.Context, p Principal) ([]APIKey, error) {
	keys, err := s.store.ListAPIKeys(ctx, p.App.ClientAppID, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return apiKeysOf(keys), nil
}

// ownKey returns the key id of the user of p, or ErrAPIKeyNotFound: another user's key
// is as unknown as a key that does not exist.
func (s *core) ownKey(ctx context.Context, p Principal, id string) (store.APIKey, error) {
	k, err := s.store.GetAPIKey(ctx, p.App.ClientAppID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.UserID != p.UserID) {
		return store.APIKey{}, fail(ErrAPIKeyNotFound, "API key not found")
	}
	if err != nil {
		return store.APIKey{}, fmt.Errorf("get api key: %w", err)
	}
	return k, nil
}

// GetAPIKey returns one key of the user of p.
func (s *APIKeys) GetAPIKey(ctx context.Context, p Principal, id string) (APIKey, error) {
	k, err := s.ownKey(ctx, p, id)
	if err != nil {
		return APIKey{}, err
	}
	return apiKeyOf(k), nil
}

// SetAPIKeyDisabled disables or enables a key of the user of p; disabling ends the
// sessions the key opened. Doing either twice is a no-op.
func (s *APIKeys) SetAPIKeyDisabled(ctx context.Context, p Principal, id string, disabled bool) error {
	if _, err := s.ownKey(ctx, p, id); err != nil {
		return fail(ErrAPIKeyNotFound, fmt.Sprintf("API key with id '%s' doesn't exist", id))
	}
	if disabled && p.SessionProvider == apikey.Type && p.SessionIdentity == id {
		return fail(ErrForbidden, "cannot disable the API key of the session making the request")
	}
	err := s.store.SetAPIKeyDisabled(ctx, p.App.ClientAppID, id, disabled)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("set api key disabled: %w", err)
	}
	s.log.InfoContext(ctx, "api key changed", "app", p.App.ClientAppID, "user", p.UserID, "key", id, "disabled", disabled)
	return nil
}

// DeleteAPIKey deletes a key of the user of p and ends the sessions it opened. Deleting a
// key that does not exist succeeds; deleting the key of the calling session is refused.
func (s *APIKeys) DeleteAPIKey(ctx context.Context, p Principal, id string) error {
	if _, err := s.ownKey(ctx, p, id); err != nil {
		if errors.Is(err, ErrAPIKeyNotFound) {
			return nil
		}
		return err
	}
	if p.SessionProvider == apikey.Type && p.SessionIdentity == id {
		return fail(ErrForbidden, "cannot delete the API key of the session making the request")
	}
	if err := s.store.DeleteAPIKey(ctx, p.App.ClientAppID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete api key: %w", err)
	}
	s.log.InfoContext(ctx, "api key deleted", "app", p.App.ClientAppID, "user", p.UserID, "key", id)
	return nil
}

// CreateServerAPIKey creates a server API key, with the server user it logs in as.
func (s *APIKeys) CreateServerAPIKey(ctx context.Context, appID, name string) (APIKey, error) {
	app, err := s.app(appID)
	if err != nil {
		return APIKey{}, err
	}
	if err := validKeyName(name); err != nil {
		return APIKey{}, err
	}
	existing, err := s.store.ListServerAPIKeys(ctx, app.ClientAppID)
	if err != nil {
		return APIKey{}, fmt.Errorf("list server api keys: %w", err)
	}
	if len(existing) >= MaxServerAPIKeys {
		return APIKey{}, fail(ErrInvalidParameter, fmt.Sprintf("an app can have at most %d server API keys", MaxServerAPIKeys))
	}
	for _, k := range existing {
		if k.Name == name {
			return APIKey{}, fail(ErrAPIKeyExists, fmt.Sprintf("a server API key named %q already exists", name))
		}
	}
	key, err := apikey.NewKey()
	if err != nil {
		return APIKey{}, err
	}
	now := s.clock.Now()
	providerID := ""
	if p, ok := app.providers[apikey.Type]; ok {
		providerID = p.cfg.ID
	}
	u := store.User{AppID: app.ClientAppID, ID: bson.NewObjectID().Hex(), Type: store.UserTypeServer, CreatedAt: now}
	k := store.APIKey{AppID: app.ClientAppID, ID: bson.NewObjectID().Hex(), UserID: u.ID, Name: name, Hash: apikey.Hash(key), CreatedAt: now}
	id := store.Identity{ID: k.ID, ProviderType: apikey.Type, ProviderID: providerID, Data: map[string]any{"name": name}, CreatedAt: now}
	if err := s.store.CreateServerAPIKey(ctx, u, id, k); err != nil {
		return APIKey{}, fmt.Errorf("create server api key: %w", err)
	}
	s.log.InfoContext(ctx, "server api key created", "app", app.ClientAppID, "key", k.ID)
	s.auditOperator(ctx, app.ClientAppID, "api_key.create", k.ID, name)
	out := apiKeyOf(k)
	out.Key = key
	return out, nil
}

// ListServerAPIKeys lists the app's server API keys.
func (s *APIKeys) ListServerAPIKeys(ctx context.Context, appID string) ([]APIKey, error) {
	app, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	keys, err := s.store.ListServerAPIKeys(ctx, app.ClientAppID)
	if err != nil {
		return nil, fmt.Errorf("list server api keys: %w", err)
	}
	return apiKeysOf(keys), nil
}

// DeleteServerAPIKey deletes a server API key and its server user.
func (s *APIKeys) DeleteServerAPIKey(ctx context.Context, appID, id string) error {
	app, err := s.app(appID)
	if err != nil {
		return err
	}
	keys, err := s.store.ListServerAPIKeys(ctx, app.ClientAppID)
	if err != nil {
		return fmt.Errorf("list server api keys: %w", err)
	}
	for _, k := range keys {
		if k.ID == id {
			if err := s.store.DeleteAPIKey(ctx, app.ClientAppID, id); err != nil {
				return fmt.Errorf("delete server api key: %w", err)
			}
			s.log.InfoContext(ctx, "server api key deleted", "app", app.ClientAppID, "key", id)
			s.auditOperator(ctx, app.ClientAppID, "api_key.delete", id, "")
			return nil
		}
	}
	return fail(ErrAPIKeyNotFound, "API key not found")
}
