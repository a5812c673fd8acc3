// Package facebook is the Facebook provider (oauth2-facebook): a user access token is
// checked with the Graph API (debug_token, with the app's id and secret) to belong to
// this app, and the user's profile is read with it; the identity is the Facebook user id.
package facebook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/auth/provider/oauth2"
)

// Type is the provider type.
const Type = "oauth2-facebook"

// Defaults are Facebook's endpoints.
var Defaults = oauth2.Endpoints{
	AuthURI:  "https://www.facebook.com/v19.0/dialog/oauth",
	TokenURI: "https://graph.facebook.com/v19.0/oauth/access_token",
	GraphURL: "https://graph.facebook.com/v19.0",
}

// Provider checks Facebook access tokens.
type Provider struct{ cfg *oauth2.Config }

// New builds the provider; the app secret is required.
func New(cfg *appconfig.Provider, deps provider.Deps) (provider.Provider, error) {
	c, err := oauth2.ParseConfig(cfg, deps, Defaults, true)
	if err != nil {
		return nil, err
	}
	return &Provider{cfg: c}, nil
}

// Authenticate implements provider.Provider: {accessToken}.
func (p *Provider) Authenticate(ctx context.Context, creds provider.Credentials) (provider.Identity, error) {
	tok, err := creds.String("accessToken")
	if err != nil {
		return provider.Identity{}, err
	}
	return p.identity(ctx, tok)
}

func (p *Provider) identity(ctx context.Context, token string) (provider.Identity, error) {
	if token == "" || len(token) > 4096 {
		return provider.Identity{}, oauth2.Reject(p.cfg.Name, "access token is malformed")
	}
	graph := strings.TrimRight(p.cfg.Endpoints.GraphURL, "/")
	var debug struct {
		Data struct {
			AppID   string `json:"app_id"`
			UserID  string `json:"user_id"`
			IsValid bool   `json:"is_valid"`
		} `json:"data"`
	}
	q := url.Values{"input_token": {token}, "access_token": {p.cfg.ClientID + "|" + p.cfg.ClientSecret}}
	if err := p.cfg.GetJSON(ctx, graph+"/debug_token?"+q.Encode(), &debug); err != nil {
		return provider.Identity{}, err
	}
	if !debug.Data.IsValid || debug.Data.UserID == "" {
		return provider.Identity{}, oauth2.Reject(p.cfg.Name, "access token is not valid")
	}
	if debug.Data.AppID != p.cfg.ClientID {
		return provider.Identity{}, oauth2.Reject(p.cfg.Name, "access token was issued to another app")
	}
	mac := hmac.New(sha256.New, []byte(p.cfg.ClientSecret))
	mac.Write([]byte(token))
	var me map[string]any
	q = url.Values{"fields": {"id,name,email,first_name,last_name,picture,gender,birthday"}, "access_token": {token}, "appsecret_proof": {hex.EncodeToString(mac.Sum(nil))}}
	if err := p.cfg.GetJSON(ctx, graph+"/me?"+q.Encode(), &me); err != nil {
		return provider.Identity{}, err
	}
	if id, _ := me["id"].(string); id != debug.Data.UserID {
		return provider.Identity{}, oauth2.Reject(p.cfg.Name, "the profile does not belong to the token's user")
	}
	if pic, ok := me["picture"].(map[string]any); ok {
		if d, ok := pic["data"].(map[string]any); ok {
			me["picture"] = d["url"]
		}
	}
	// Facebook only returns emails it has verified.
	data, err := p.cfg.Profile(me, true)
	if err != nil {
		return provider.Identity{}, err
	}
	return provider.Identity{ID: debug.Data.UserID, Data: data}, nil
}

// AuthURL implements provider.Redirector.
func (p *Provider) AuthURL(state, callback string) string {
	return p.cfg.AuthURL(url.Values{"client_id": {p.cfg.ClientID}, "redirect_uri": {callback}, "response_type": {"code"},
		"scope": {"email,public_profile"}, "state": {state}})
}

// Exchange implements provider.Redirector.
func (p *Provider) Exchange(ctx context.Context, code, callback string) (provider.Identity, error) {
	var res struct {
		AccessToken string `json:"access_token"`
	}
	q := url.Values{"client_id": {p.cfg.ClientID}, "client_secret": {p.cfg.ClientSecret}, "code": {code}, "redirect_uri": {callback}}
	if err := p.cfg.GetJSON(ctx, p.cfg.Endpoints.TokenURI+"?"+q.Encode(), &res); err != nil {
		return provider.Identity{}, err
	}
	return p.identity(ctx, res.AccessToken)
}
