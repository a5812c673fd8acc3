package client

import (
	"context"
	"net/http"
	"net/url"
)

// UserAPIKey is a user API key. Key is set only in the answer to Create.
type UserAPIKey struct {
	ID       string `json:"_id"`
	Key      string `json:"key,omitempty"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
}

// APIKeys manages a user's API keys (with the user's refresh token).
type APIKeys struct{ user *User }

// APIKeys returns the user's API key operations.
func (u *User) APIKeys() *APIKeys { return &APIKeys{user: u} }

const apiKeysPath = "/api/client/v2.0/auth/api_keys"

// Create makes a key; its secret is in the answer only.
func (k *APIKeys) Create(ctx context.Context, name string) (UserAPIKey, error) {
	var out UserAPIKey
	err := k.user.request(ctx, http.MethodPost, apiKeysPath, tokenRefresh, map[string]any{"name": name}, &out)
	return out, err
}

// Get returns one key.
func (k *APIKeys) Get(ctx context.Context, id string) (UserAPIKey, error) {
	var out UserAPIKey
	err := k.user.request(ctx, http.MethodGet, apiKeysPath+"/"+url.PathEscape(id), tokenRefresh, nil, &out)
	return out, err
}

// List returns every key of the user.
func (k *APIKeys) List(ctx context.Context) ([]UserAPIKey, error) {
	out := []UserAPIKey{}
	err := k.user.request(ctx, http.MethodGet, apiKeysPath, tokenRefresh, nil, &out)
	return out, err
}

// Fetch returns one key.
//
// Deprecated: use Get (the name Go APIs use); Fetch is realm-web's name.
func (k *APIKeys) Fetch(ctx context.Context, id string) (UserAPIKey, error) { return k.Get(ctx, id) }

// FetchAll returns every key of the user.
//
// Deprecated: use List (the name Go APIs use); FetchAll is realm-web's name.
func (k *APIKeys) FetchAll(ctx context.Context) ([]UserAPIKey, error) { return k.List(ctx) }

// Enable enables a key.
func (k *APIKeys) Enable(ctx context.Context, id string) error {
	return k.user.request(ctx, http.MethodPut, apiKeysPath+"/"+url.PathEscape(id)+"/enable", tokenRefresh, nil, nil)
}

// Disable disables a key.
func (k *APIKeys) Disable(ctx context.Context, id string) error {
	return k.user.request(ctx, http.MethodPut, apiKeysPath+"/"+url.PathEscape(id)+"/disable", tokenRefresh, nil, nil)
}

// Delete deletes a key.
func (k *APIKeys) Delete(ctx context.Context, id string) error {
	return k.user.request(ctx, http.MethodDelete, apiKeysPath+"/"+url.PathEscape(id), tokenRefresh, nil, nil)
}
