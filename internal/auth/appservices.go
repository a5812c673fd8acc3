package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wardenauth/warden/internal/auth/provider/apikey"
	"github.com/wardenauth/warden/internal/auth/provider/userpass"
	"github.com/wardenauth/warden/internal/store"
)

// AppServicesUser is one user as App Services' Admin API returned it (GET
// /groups/{groupId}/apps/{appId}/users, and .../users/{userId}) and as its CLI's
// `users list` printed it.
type AppServicesUser struct {
	ID         string `json:"_id"`
	Identities []struct {
		ID           string `json:"id"`
		ProviderType string `json:"provider_type"`
		ProviderID   string `json:"provider_id"`
	} `json:"identities"`
	Type                   string         `json:"type"`
	CreationDate           int64          `json:"creation_date"`
	LastAuthenticationDate int64          `json:"last_authentication_date"`
	Disabled               bool           `json:"disabled"`
	Data                   map[string]any `json:"data"`

	// Line is where the user starts in the file it was read from.
	Line int `json:"-"`
}

// ReadAppServicesUsers reads users in App Services' form: a JSON array, JSON lines, or
// several arrays one after another (pages), or any mix. A malformed file is refused as a
// whole, with the line of the first problem, so that nothing is imported from a file
// that cannot be read whole.
func ReadAppServicesUsers(r io.Reader) ([]AppServicesUser, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the users: %w", err)
	}
	line := func(offset int64) int { return 1 + bytes.Count(data[:min(int(offset), len(data))], []byte("\n")) }
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []AppServicesUser
	add := func(u AppServicesUser, at int64) error {
		u.Line = line(at)
		if err := u.check(); err != nil {
			return fmt.Errorf("line %d: %w", u.Line, err)
		}
		out = append(out, u)
		return nil
	}
	for {
		at := dec.InputOffset()
		// The value starts at the first byte that is not white space.
		at += int64(len(data[at:]) - len(bytes.TrimLeft(data[at:], " \t\r\n")))
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			where := dec.InputOffset()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				where = se.Offset
			}
			return nil, fmt.Errorf("line %d: malformed JSON: %w", line(where), err)
		}
		trimmed := bytes.TrimSpace(raw)
		switch {
		case len(trimmed) > 0 && trimmed[0] == '[':
			var page []json.RawMessage
			if err := json.Unmarshal(trimmed, &page); err != nil {
				return nil, fmt.Errorf("line %d: %w", line(at), err)
			}
			// The users of a page are found again in the text, for their lines.
			offset := at + int64(bytes.Index(raw, []byte("[")))
			for _, item := range page {
				if i := bytes.Index(data[offset:], bytes.TrimSpace(item)); i >= 0 {
					offset += int64(i)
				}
				var u AppServicesUser
				if err := json.Unmarshal(item, &u); err != nil {
					return nil, fmt.Errorf("line %d: a user must be an object: %w", line(offset), err)
				}
				if err := add(u, offset); err != nil {
					return nil, err
				}
			}
		case len(trimmed) > 0 && trimmed[0] == '{':
			var u AppServicesUser
			if err := json.Unmarshal(trimmed, &u); err != nil {
				return nil, fmt.Errorf("line %d: %w", line(at), err)
			}
			if err := add(u, at+int64(bytes.Index(raw, []byte("{")))); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("line %d: expected a user object or an array of them", line(at))
		}
	}
}

func (u AppServicesUser) check() error {
	if u.ID == "" || len(u.ID) > 64 {
		return errors.New("a user needs an _id (at most 64 characters)")
	}
	if len(u.Identities) == 0 {
		return fmt.Errorf("user %s has no identities", u.ID)
	}
	for _, id := range u.Identities {
		if id.ID == "" || id.ProviderType == "" {
			return fmt.Errorf("user %s has an identity without an id or a provider_type", u.ID)
		}
	}
	if u.Type != "" && u.Type != store.UserTypeNormal && u.Type != store.UserTypeServer {
		return fmt.Errorf("user %s has the type %q (normal or server)", u.ID, u.Type)
	}
	return nil
}

// AppServicesImport is what importing one App Services user did.
type AppServicesImport struct {
	// Created is false when a user with the id was there already (nothing changed).
	Created bool
	// MustResetPassword: the user has an email/password identity, imported without a
	// password (App Services never exported hashes): it logs in once it has reset it.
	MustResetPassword bool
	// APIKeys are the ids of API key identities, which cannot work without their
	// secrets: the user is imported, its keys must be made anew.
	APIKeys []string
}

// ImportAppServicesUser creates an App Services user in the app with its id, its
// identities (provider type and id, so the same custom JWT subject or OAuth account logs
// in as the same user), its creation date and whether it is disabled. An email/password
// identity comes without a password. Importing it again changes nothing.
func (s *Operators) ImportAppServicesUser(ctx context.Context, appID string, u AppServicesUser) (AppServicesImport, error) {
	var res AppServicesImport
	e := ExportedUser{ID: u.ID, Type: u.Type, Disabled: u.Disabled, CreatedAt: time.Unix(u.CreationDate, 0).UTC()}
	if u.CreationDate == 0 {
		e.CreatedAt = s.clock.Now()
	}
	email, _ := u.Data["email"].(string)
	for _, id := range u.Identities {
		data := u.Data
		switch id.ProviderType {
		case userpass.Type:
			if email == "" {
				return res, fail(ErrInvalidParameter, fmt.Sprintf("user %s has a local-userpass identity but no data.email", u.ID))
			}
			data = map[string]any{"email": email}
			e.Email, e.PasswordHash, e.AccountStatus = email, store.NoPassword, store.AccountConfirmed
			res.MustResetPassword = true
		case apikey.Type:
			res.APIKeys = append(res.APIKeys, id.ID)
		}
		e.Identities = append(e.Identities, ExportedIdentity{ID: id.ID, ProviderType: id.ProviderType, Data: data, CreatedAt: e.CreatedAt})
	}
	created, err := s.ImportUser(ctx, appID, e)
	res.Created = created
	return res, err
}

// AccountsWithoutPassword lists, in email order after afterEmail, the emails of accounts
// imported without a password (for the migration's reset mails).
func (s *Operators) AccountsWithoutPassword(ctx context.Context, appID, afterEmail string, limit int) ([]string, error) {
	app, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	return s.store.ListAccountsWithoutPassword(ctx, app.ClientAppID, afterEmail, limit)
}
