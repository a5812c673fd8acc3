package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/wardenauth/warden/internal/adminapi"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/store"
)

// userOps is what `warden users` does to an app's users, on the data directory (local)
// or through a running server's admin API (remote). Both answer in the admin API's JSON
// shapes, and the command prints those the same way whichever ran, so the two modes
// cannot drift.
type userOps interface {
	list(ctx context.Context, q store.UserQuery) (map[string]any, error) // {"users": [...], "total": n}
	get(ctx context.Context, id string) (map[string]any, error)
	create(ctx context.Context, email, password string) (map[string]any, error)
	setDisabled(ctx context.Context, id string, disabled bool) error
	revoke(ctx context.Context, id string) (int, error)
	delete(ctx context.Context, id string) error
	// unlock reports whether the email had failed logins to forget (remote: unknown, true).
	unlock(ctx context.Context, email string) (bool, error)
}

// localUsers works on the data directory through the service, as the command-line user.
type localUsers struct {
	svc   *auth.Service
	appID string
}

func (l localUsers) list(ctx context.Context, q store.UserQuery) (map[string]any, error) {
	users, total, err := l.svc.Operators.ListUsers(ctx, l.appID, q)
	if err != nil {
		return nil, err
	}
	views := make([]any, len(users))
	for i, u := range users {
		views[i] = adminapi.UserView(u)
	}
	return asMap(map[string]any{"users": views, "total": total, "limit": q.Limit, "offset": q.Offset})
}

func (l localUsers) get(ctx context.Context, id string) (map[string]any, error) {
	d, err := l.svc.Operators.UserDetail(ctx, l.appID, id)
	if err != nil {
		return nil, err
	}
	return asMap(adminapi.DetailView(d))
}

func (l localUsers) create(ctx context.Context, email, password string) (map[string]any, error) {
	u, err := l.svc.Operators.CreateEmailPasswordUser(ctx, l.appID, email, password)
	if err != nil {
		return nil, err
	}
	return asMap(adminapi.UserView(u))
}

func (l localUsers) setDisabled(ctx context.Context, id string, disabled bool) error {
	return l.svc.Operators.SetUserDisabled(ctx, l.appID, id, disabled)
}

func (l localUsers) revoke(ctx context.Context, id string) (int, error) {
	return l.svc.Operators.RevokeSessions(ctx, l.appID, id)
}

func (l localUsers) delete(ctx context.Context, id string) error {
	return l.svc.Operators.AdminDeleteUser(ctx, l.appID, id)
}

func (l localUsers) unlock(ctx context.Context, email string) (bool, error) {
	return l.svc.Operators.Unlock(ctx, l.appID, email)
}

// remoteUsers works through a running server's admin API, with an admin key.
type remoteUsers struct {
	c   *adminapi.Client
	app string
}

func (r remoteUsers) path(rest string) string { return adminapi.AppPath(r.app, rest) }

func (r remoteUsers) list(ctx context.Context, q store.UserQuery) (map[string]any, error) {
	v := url.Values{"limit": {strconv.Itoa(q.Limit)}, "offset": {strconv.Itoa(q.Offset)}}
	for k, s := range map[string]string{"search": q.Search, "provider": q.Provider, "state": q.State, "sort": q.Sort} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Desc {
		v.Set("order", "desc")
	}
	var out map[string]any
	return out, r.c.Do(ctx, "GET", r.path("/users?"+v.Encode()), nil, &out)
}

func (r remoteUsers) get(ctx context.Context, id string) (map[string]any, error) {
	var out map[string]any
	return out, r.c.Do(ctx, "GET", r.path("/users/"+url.PathEscape(id)), nil, &out)
}

func (r remoteUsers) create(ctx context.Context, email, password string) (map[string]any, error) {
	var out map[string]any
	return out, r.c.Do(ctx, "POST", r.path("/users"), map[string]string{"email": email, "password": password}, &out)
}

func (r remoteUsers) setDisabled(ctx context.Context, id string, disabled bool) error {
	verb := "enable"
	if disabled {
		verb = "disable"
	}
	return r.c.Do(ctx, "PUT", r.path("/users/"+url.PathEscape(id)+"/"+verb), nil, nil)
}

func (r remoteUsers) revoke(ctx context.Context, id string) (int, error) {
	var out struct {
		Ended int `json:"sessions_ended"`
	}
	err := r.c.Do(ctx, "POST", r.path("/users/"+url.PathEscape(id)+"/logout"), nil, &out)
	return out.Ended, err
}

func (r remoteUsers) delete(ctx context.Context, id string) error {
	return r.c.Do(ctx, "DELETE", r.path("/users/"+url.PathEscape(id)), nil, nil)
}

func (r remoteUsers) unlock(ctx context.Context, email string) (bool, error) {
	return true, r.c.Do(ctx, "POST", r.path("/unlock"), map[string]string{"email": email}, nil)
}

// asMap turns a view into the generic JSON form that both ways share.
func asMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return m, nil
}

var errNeedAdminKey = errors.New("users --server: an admin key is required (--admin-key or WARDEN_ADMIN_KEY)")
