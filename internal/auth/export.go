package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wardenauth/warden/internal/auth/provider/userpass"
	"github.com/wardenauth/warden/internal/store"
)

// ExportedUser is one user as `warden users export` writes it (one JSON line each) and
// `warden users import` reads it. It carries the argon2id hash of an email/password
// account, never a password, so that users move between servers without a reset; treat
// an export file as a secret.
type ExportedUser struct {
	ID            string             `json:"id"`
	Type          string             `json:"type"`
	Disabled      bool               `json:"disabled,omitempty"`
	CreatedAt     time.Time          `json:"created_at"`
	Identities    []ExportedIdentity `json:"identities"`
	Email         string             `json:"email,omitempty"`
	PasswordHash  string             `json:"password_hash,omitempty"`
	AccountStatus string             `json:"account_status,omitempty"`
}

// ExportedIdentity is one identity of an ExportedUser.
type ExportedIdentity struct {
	ID           string         `json:"id"`
	ProviderType string         `json:"provider_type"`
	Data         map[string]any `json:"data,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
}

// ExportUsers calls fn with every user of the app, oldest first.
func (s *Operators) ExportUsers(ctx context.Context, appID string, fn func(ExportedUser) error) error {
	app, err := s.app(appID)
	if err != nil {
		return err
	}
	const page = 500
	exported := 0
	var after *store.UserCursor
	for {
		users, _, err := s.store.ListUsers(ctx, app.ClientAppID, store.UserQuery{Limit: page, After: after})
		if err != nil {
			return err
		}
		if len(users) > 0 {
			last := users[len(users)-1]
			after = &store.UserCursor{CreatedAt: last.CreatedAt, ID: last.ID}
		}
		for _, u := range users {
			e := ExportedUser{ID: u.ID, Type: u.Type, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
			for _, id := range u.Identities {
				e.Identities = append(e.Identities, ExportedIdentity{ID: id.ID, ProviderType: id.ProviderType, Data: id.Data, CreatedAt: id.CreatedAt})
				if id.ProviderType == userpass.Type {
					if email, ok := id.Data["email"].(string); ok {
						if a, err := s.store.GetAccountByEmail(ctx, app.ClientAppID, email); err == nil && a.ID == id.ID {
							e.Email, e.PasswordHash, e.AccountStatus = a.Email, a.PasswordHash, a.Status
						}
					}
				}
			}
			if err := fn(e); err != nil {
				return err
			}
			exported++
		}
		// A page can come back short when a user was deleted while it was read: only an
		// empty page ends the walk.
		if len(users) == 0 {
			// An export holds password hashes: who took one is worth knowing.
			s.auditOperator(ctx, app.ClientAppID, "users.export", "", fmt.Sprintf("%d users", exported))
			return nil
		}
	}
}

// ImportUser creates an exported user in the app. It reports false (and does nothing)
// when the user already exists, so that an import can be run again after a failure.
func (s *Operators) ImportUser(ctx context.Context, appID string, e ExportedUser) (bool, error) {
	app, err := s.app(appID)
	if err != nil {
		return false, err
	}
	if e.ID == "" || len(e.Identities) == 0 {
		return false, fail(ErrInvalidParameter, "a user needs an id and at least one identity")
	}
	if _, err := s.store.GetUser(ctx, app.ClientAppID, e.ID); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	typ := e.Type
	if typ == "" {
		typ = store.UserTypeNormal
	}
	providerID := func(t string) string {
		if p, ok := app.providers[t]; ok {
			return p.cfg.ID
		}
		return ""
	}
	for _, id := range e.Identities {
		if id.ProviderType == userpass.Type && e.PasswordHash != "" {
			status := e.AccountStatus
			if status == "" {
				status = store.AccountConfirmed
			}
			err := s.store.CreateAccount(ctx, store.Account{AppID: app.ClientAppID, ID: id.ID, Email: e.Email, PasswordHash: e.PasswordHash, Status: status, CreatedAt: id.CreatedAt}, nil)
			if err != nil && !errors.Is(err, store.ErrEmailTaken) {
				return false, fmt.Errorf("importing the account of %s: %w", e.ID, err)
			}
		}
	}
	first := e.Identities[0]
	u := store.User{AppID: app.ClientAppID, ID: e.ID, Type: typ, CreatedAt: e.CreatedAt}
	if err := s.store.CreateUser(ctx, u, store.Identity{ID: first.ID, ProviderType: first.ProviderType, ProviderID: providerID(first.ProviderType), Data: first.Data, CreatedAt: first.CreatedAt}); err != nil {
		return false, fmt.Errorf("importing user %s: %w", e.ID, err)
	}
	for _, id := range e.Identities[1:] {
		if _, err := s.store.LinkIdentity(ctx, app.ClientAppID, e.ID, store.Identity{ID: id.ID, ProviderType: id.ProviderType, ProviderID: providerID(id.ProviderType), Data: id.Data, CreatedAt: id.CreatedAt}); err != nil {
			return false, fmt.Errorf("importing user %s: %w", e.ID, err)
		}
	}
	if e.Disabled {
		if err := s.store.SetUserDisabled(ctx, app.ClientAppID, e.ID, true); err != nil {
			return false, err
		}
	}
	s.auditOperator(ctx, app.ClientAppID, "user.import", e.ID, "")
	return true, nil
}
