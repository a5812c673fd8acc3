package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/wardenauth/warden/internal/adminapi"
	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/store"
)

type remoteArgs struct {
	server, key, appID, appDir, id, email, password string
	query                                           store.UserQuery
	json                                            bool
}

// remoteUsers runs a `warden users` command through a running server's admin API.
func remoteUsers(ctx context.Context, sub string, a remoteArgs, stdout io.Writer) error {
	if a.key == "" {
		return errors.New("users --server: an admin key is required (--admin-key or WARDEN_ADMIN_KEY)")
	}
	app := a.appID
	if app == "" && a.appDir != "" {
		cfg, err := appconfig.Load(a.appDir, appconfig.Options{})
		if err != nil {
			return fmt.Errorf("loading app: %w", err)
		}
		app = cfg.ClientAppID
	}
	if app == "" {
		return errors.New("users --server: give --app-id (or --app)")
	}
	c := &adminapi.Client{BaseURL: a.server, Key: a.key}
	print := func(v any) error {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	needID := func() error {
		if a.id == "" {
			return fmt.Errorf("users %s: --id is required", sub)
		}
		return nil
	}
	p := func(rest string) string { return adminapi.AppPath(app, rest) }
	switch sub {
	case "list":
		q := url.Values{"limit": {strconv.Itoa(a.query.Limit)}, "offset": {strconv.Itoa(a.query.Offset)}}
		for k, v := range map[string]string{"search": a.query.Search, "provider": a.query.Provider, "state": a.query.State, "sort": a.query.Sort} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if a.query.Desc {
			q.Set("order", "desc")
		}
		var out map[string]any
		if err := c.Do(ctx, "GET", p("/users?"+q.Encode()), nil, &out); err != nil {
			return err
		}
		return print(out)
	case "get":
		if err := needID(); err != nil {
			return err
		}
		var out map[string]any
		if err := c.Do(ctx, "GET", p("/users/"+url.PathEscape(a.id)), nil, &out); err != nil {
			return err
		}
		return print(out)
	case "create":
		if a.email == "" || a.password == "" {
			return errors.New("users create --server: --email and --password are required")
		}
		var out map[string]any
		if err := c.Do(ctx, "POST", p("/users"), map[string]string{"email": a.email, "password": a.password}, &out); err != nil {
			return err
		}
		return print(out)
	case "disable", "enable":
		if err := needID(); err != nil {
			return err
		}
		if err := c.Do(ctx, "PUT", p("/users/"+url.PathEscape(a.id)+"/"+sub), nil, nil); err != nil {
			return err
		}
		return print(map[string]string{"result": sub + "d " + a.id})
	case "revoke":
		if err := needID(); err != nil {
			return err
		}
		var out map[string]any
		if err := c.Do(ctx, "POST", p("/users/"+url.PathEscape(a.id)+"/logout"), nil, &out); err != nil {
			return err
		}
		return print(out)
	case "delete":
		if err := needID(); err != nil {
			return err
		}
		if err := c.Do(ctx, "DELETE", p("/users/"+url.PathEscape(a.id)), nil, nil); err != nil {
			return err
		}
		return print(map[string]string{"result": "deleted " + a.id})
	case "unlock":
		if a.email == "" {
			return errors.New("users unlock: --email is required")
		}
		if err := c.Do(ctx, "POST", p("/unlock"), map[string]string{"email": a.email}, nil); err != nil {
			return err
		}
		return print(map[string]string{"result": "unlocked " + a.email})
	}
	return fmt.Errorf("users %s: not available with --server (run it on the data directory)", sub)
}
