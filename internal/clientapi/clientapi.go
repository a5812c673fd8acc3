// Package clientapi serves the Realm client API v2.0 over HTTP: it decodes requests,
// authenticates their tokens, calls the auth core and encodes the answers (and errors)
// byte for byte as the Realm SDKs expect them. What it decides itself is what belongs to
// HTTP: CORS and allowed origins, rate limits by client address, the OAuth login's
// browser cookie, the access log, and which errors are which status.
package clientapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/auth/provider"
	"github.com/wardenauth/warden/internal/clientip"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/httpjson"
	"github.com/wardenauth/warden/internal/metrics"
	"github.com/wardenauth/warden/internal/ratelimit"
)

// MaxBodyBytes is the largest request body accepted (1 MiB); larger bodies get 413.
const MaxBodyBytes = 1 << 20

// Options configure the handler.
type Options struct {
	// PublicURL is the scheme://host[:port] clients should use, reported by the location
	// endpoint. Empty means: the scheme and Host of each request.
	PublicURL string
	Logger    *slog.Logger
	// Static, when set, serves GET and HEAD requests outside the API paths (a web app's
	// files, for --static).
	Static http.Handler
	// Limiter applies the rate limits (nil: none).
	Limiter *ratelimit.Limiter
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// Metrics records requests (nil: none).
	Metrics *metrics.Metrics
	// Streams, when done, ends every change stream (the server is stopping: a stream
	// never finishes by itself, so a graceful shutdown ends it with an error event).
	Streams context.Context
	// StreamWriteTimeout bounds how long one change event may take to reach a client
	// that stopped reading (0: 30 seconds).
	StreamWriteTimeout time.Duration
}

type api struct {
	static    http.Handler
	limiter   *ratelimit.Limiter
	ips       clientip.Resolver
	metrics   *metrics.Metrics
	svc       *auth.Service
	log       *slog.Logger
	publicURL string
	streams   context.Context
	streamTO  time.Duration
}

const prefix = "/api/client/v2.0"

// New returns the client API handler (CORS, JSON errors for unknown routes and panics
// included).
func New(svc *auth.Service, opts Options) http.Handler {
	a := &api{svc: svc, log: opts.Logger, publicURL: strings.TrimRight(opts.PublicURL, "/"), static: opts.Static,
		limiter: opts.Limiter, ips: clientip.Resolver{Trusted: opts.TrustedProxies}, metrics: opts.Metrics, streams: opts.Streams}
	if a.streams == nil {
		a.streams = context.Background()
	}
	a.streamTO = opts.StreamWriteTimeout
	if a.streamTO <= 0 {
		a.streamTO = 30 * time.Second
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	appPath := prefix + "/app/{app}"
	mux.HandleFunc("GET "+appPath+"/location", a.handle(a.location))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/login", a.handle(a.login))
	mux.HandleFunc("GET "+appPath+"/auth/providers/{provider}/login", a.handle(a.redirectLogin))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/register", a.handle(a.register))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/confirm", a.handle(a.confirm))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/confirm/send", a.handle(a.confirmSend))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/confirm/call", a.handle(a.confirmCall))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/reset", a.handle(a.reset))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/reset/send", a.handle(a.resetSend))
	mux.HandleFunc("POST "+appPath+"/auth/providers/{provider}/reset/call", a.handle(a.resetCall))
	mux.HandleFunc("PUT "+appPath+"/push/providers/{service}/registration", a.handle(a.registerPush))
	mux.HandleFunc("DELETE "+appPath+"/push/providers/{service}/registration", a.handle(a.deregisterPush))
	mux.HandleFunc("POST "+appPath+"/functions/call", a.handle(a.callFunction))
	mux.HandleFunc("GET "+appPath+"/functions/call", a.handle(a.callFunctionStreaming))
	mux.HandleFunc("GET "+prefix+"/auth/callback", a.handle(a.oauthCallback))
	mux.HandleFunc("POST "+prefix+"/auth/callback", a.handle(a.oauthCallback))
	mux.HandleFunc("GET "+prefix+"/auth/profile", a.handle(a.profile))
	mux.HandleFunc("POST "+prefix+"/auth/session", a.handle(a.refresh))
	mux.HandleFunc("DELETE "+prefix+"/auth/session", a.handle(a.logout))
	mux.HandleFunc("DELETE "+prefix+"/auth/delete", a.handle(a.deleteUser))
	mux.HandleFunc("POST "+prefix+"/auth/api_keys", a.handle(a.createAPIKey))
	mux.HandleFunc("GET "+prefix+"/auth/api_keys", a.handle(a.listAPIKeys))
	mux.HandleFunc("GET "+prefix+"/auth/api_keys/{id}", a.handle(a.getAPIKey))
	mux.HandleFunc("PUT "+prefix+"/auth/api_keys/{id}/enable", a.handle(a.enableAPIKey))
	mux.HandleFunc("PUT "+prefix+"/auth/api_keys/{id}/disable", a.handle(a.disableAPIKey))
	mux.HandleFunc("DELETE "+prefix+"/auth/api_keys/{id}", a.handle(a.deleteAPIKey))
	mux.HandleFunc("GET /.well-known/jwks.json", a.jwks)
	mux.HandleFunc("GET /healthz", a.health)
	mux.HandleFunc("GET /readyz", a.handle(a.ready))
	return a.accessLog(httpjson.Recover(a.log, a.cors(jsonFallbacks(mux, a))))
}

// handler is the one shape of the API's handlers: they write their answer and return
// nil, or return the error that handle turns into the protocol's error body.
type handler func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handler to net/http: an error it returns is written in the protocol's
// error shape (it must not have written anything yet).
func (a *api) handle(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(r.Context(), w, err)
		}
	}
}

// jsonFallbacks answers requests that match no route, or no method of a route, in the
// protocol's JSON error shape instead of net/http's plain text.
func jsonFallbacks(mux *http.ServeMux, a *api) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		if a.static != nil && !strings.HasPrefix(r.URL.Path, "/api/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			a.static.ServeHTTP(w, r)
			return
		}
		probe := &statusProbe{header: http.Header{}}
		mux.ServeHTTP(probe, r)
		if probe.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", probe.header.Get("Allow"))
			a.writeError(r.Context(), w, &apiError{http.StatusMethodNotAllowed, codeBadRequest, "method " + r.Method + " is not allowed on " + r.URL.Path})
			return
		}
		a.writeError(r.Context(), w, &apiError{http.StatusNotFound, codeServiceCommandNotFound, "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
}

type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// readObject reads the body as an Extended JSON object, bounded by MaxBodyBytes. An
// empty body is an empty object.
func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	data, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	obj, err := ejson.DecodeObject(data)
	if err != nil {
		return nil, badRequest("malformed request body: " + err.Error())
	}
	return obj, nil
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &apiError{http.StatusRequestEntityTooLarge, codeReadSizeLimitExceeded, "request body is larger than 1 MiB"}
	}
	if err != nil {
		return nil, badRequest("reading request body: " + err.Error())
	}
	return data, nil
}

// stringField returns the string field key of obj; it must be present when required.
func stringField(obj map[string]any, key string, required bool) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		if required {
			return "", &apiError{http.StatusBadRequest, "MissingParameter", "expected '" + key + "' in the request body"}
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", &apiError{http.StatusBadRequest, codeInvalidParameter, "'" + key + "' must be a string"}
	}
	return s, nil
}

// bearer returns the token of an `Authorization: Bearer <token>` header.
func bearer(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", &apiError{http.StatusUnauthorized, codeMissingAuthReq, "must authenticate first"}
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || tok == "null" || tok == "undefined" {
		return "", &apiError{http.StatusUnauthorized, codeInvalidSession, "invalid session: malformed Authorization header"}
	}
	return tok, nil
}

// principal authenticates the request's access token.
func (a *api) principal(r *http.Request) (auth.Principal, error) {
	return a.principalFrom(r, false)
}

// principalFrom authenticates the request's access token; with inQuery, the token may
// come in the baas_at query parameter instead, as the streaming function call of the
// SDKs sends it (an EventSource cannot set headers). Nowhere else: a token in a URL ends
// up in logs and histories.
func (a *api) principalFrom(r *http.Request, inQuery bool) (auth.Principal, error) {
	tok, err := bearer(r)
	if err != nil && inQuery && r.Method == http.MethodGet && r.URL.Query().Get("baas_at") != "" {
		tok, err = r.URL.Query().Get("baas_at"), nil
	}
	if err != nil {
		return auth.Principal{}, err
	}
	p, err := a.svc.Sessions.Authenticate(r.Context(), tok)
	if err != nil {
		return auth.Principal{}, err
	}
	if err := checkOrigin(r, p.App); err != nil {
		return auth.Principal{}, err
	}
	return p, nil
}

func (a *api) location(w http.ResponseWriter, r *http.Request) error {
	app, err := a.svc.App(r.PathValue("app"))
	if err == nil {
		err = checkOrigin(r, app)
	}
	if err != nil {
		return err
	}
	host := a.baseURL(r)
	ws := "ws" + strings.TrimPrefix(host, "http")
	writeJSON(w, http.StatusOK, map[string]string{
		"deployment_model": app.DeploymentModel,
		"location":         app.Location,
		"hostname":         host,
		"ws_hostname":      ws,
	})
	return nil
}

func deviceFrom(body map[string]any) (auth.Device, error) {
	opts, ok := body["options"]
	if !ok || opts == nil {
		return auth.Device{}, nil
	}
	om, ok := opts.(map[string]any)
	if !ok {
		return auth.Device{}, &apiError{http.StatusBadRequest, codeInvalidParameter, "'options' must be an object"}
	}
	dv, ok := om["device"]
	if !ok || dv == nil {
		return auth.Device{}, nil
	}
	dm, ok := dv.(map[string]any)
	if !ok {
		return auth.Device{}, &apiError{http.StatusBadRequest, codeInvalidParameter, "'options.device' must be an object"}
	}
	return auth.DeviceFrom(dm), nil
}

func (a *api) login(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	app, err := a.svc.App(r.PathValue("app"))
	if err != nil {
		return err
	}
	if err := checkOrigin(r, app); err != nil {
		return err
	}
	ip := a.clientIP(r)
	if err := a.limit(w, r, check{ratelimit.LoginIP, limitKeyIP(ip)}); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	var checks []check
	accountKey, bareSecret := a.svc.Sessions.LoginLimits(app.ClientAppID, r.PathValue("provider"), body)
	if accountKey != "" {
		checks = append(checks, check{ratelimit.LoginAccount, accountKey})
	}
	if bareSecret { // keys are guessed against every account at once
		checks = append(checks, check{ratelimit.APIKeyIP, limitKeyIP(ip)})
	}
	if err := a.limit(w, r, checks...); err != nil {
		return err
	}
	dev, err := deviceFrom(body)
	if err != nil {
		return err
	}
	delete(body, "options")
	req := auth.LoginRequest{AppID: app.ClientAppID, Provider: r.PathValue("provider"), Credentials: provider.Credentials(body), Device: dev, IP: ip}
	if r.URL.Query().Get("link") == "true" {
		tok, err := bearer(r)
		if err != nil {
			return err
		}
		req.LinkAccessToken = tok
	}
	res, err := a.svc.Sessions.LogIn(ctx, req)
	if err != nil {
		return err
	}
	out := map[string]string{"access_token": res.AccessToken, "user_id": res.UserID, "device_id": res.DeviceID}
	if res.RefreshToken != "" {
		out["refresh_token"] = res.RefreshToken
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// redirectLogin starts a browser OAuth login (GET .../auth/providers/{p}/login): the popup is sent (302) to the
// provider's consent page; a link probe (link=true&providerRedirectHeader=true, with the
// linking user's access token) gets the same URL in the X-BaaS-Location header instead.
func (a *api) redirectLogin(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if err := a.limit(w, r, check{ratelimit.LoginIP, limitKeyIP(a.clientIP(r))}); err != nil {
		return err
	}
	if app, err := a.svc.App(r.PathValue("app")); err == nil {
		if err := checkOrigin(r, app); err != nil {
			return err
		}
	}
	// A browser's top-level navigation (the popup) sends no Origin; a fetch from a page
	// does, and only the link probe of a trusted page may start a login that way.
	if origin := r.Header.Get("Origin"); origin != "" && !a.probeOriginTrusted(r, origin) {
		return &apiError{http.StatusForbidden, codeDomainNotAllowed,
			"origin " + origin + " may not start this login: only the link probe of a page at the redirect URL's origin (or an allowed origin) may"}
	}
	q := r.URL.Query()
	start := auth.RedirectStart{AppID: r.PathValue("app"), Provider: r.PathValue("provider"), Redirect: q.Get("redirect"),
		ClientState: q.Get("state"), Callback: a.baseURL(r) + prefix + "/auth/callback"}
	if d := q.Get("device"); d != "" {
		raw, err := base64.StdEncoding.DecodeString(d)
		if err == nil {
			var dev map[string]any
			if json.Unmarshal(raw, &dev) == nil {
				start.Device = auth.DeviceFrom(dev)
			}
		}
	}
	if q.Get("link") == "true" {
		tok, err := bearer(r)
		if err != nil {
			return err
		}
		start.LinkAccessToken = tok
	}
	started, err := a.svc.Sessions.StartRedirectLogin(ctx, start)
	if err != nil {
		return err
	}
	a.setOAuthCookie(w, r, started)
	if q.Get("providerRedirectHeader") == "true" {
		w.Header().Set("X-BaaS-Location", started.ConsentURL)
		writeEmpty(w, http.StatusOK)
		return nil
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, started.ConsentURL, http.StatusFound)
	return nil
}

// oauthCookie is the name of the cookie that binds one OAuth login to its browser (one
// per login, so that two logins in two tabs do not overwrite each other).
func oauthCookie(stateID string) string {
	if len(stateID) > 16 {
		stateID = stateID[:16]
	}
	return "warden_oauth_" + stateID
}

// setOAuthCookie gives the browser the secret of the login it starts: HttpOnly, for the
// callback path only, for as long as the login may take. Over HTTPS it is Secure and
// SameSite=None, so that it comes back with Apple's form_post (a cross-site POST) and is
// kept from the link probe (a credentialed fetch from the app's page, which browsers
// honour where third-party cookies are allowed, as App Services' link flow needed too);
// the secret itself, not SameSite, is what stops a forged callback. Over plain HTTP (a
// developer's machine) it is SameSite=Lax, which the redirect back still carries.
//
// Over HTTPS the cookie's name has the __Host- prefix, so that no sibling subdomain can
// set one in its place (browsers then require Path=/ and no Domain).
func (a *api) setOAuthCookie(w http.ResponseWriter, r *http.Request, s auth.RedirectStarted) {
	secure := strings.HasPrefix(a.baseURL(r), "https://")
	c := &http.Cookie{Name: oauthCookie(s.StateID), Value: s.BrowserSecret, Path: prefix + "/auth/callback",
		MaxAge: int(auth.OAuthStateTTL / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	if secure {
		c.Name, c.Path, c.SameSite = "__Host-"+c.Name, "/", http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// oauthCallback is where providers send the browser back (GET, or POST for Apple's
// form_post): the login finishes and the browser goes to the app's redirect URL.
func (a *api) oauthCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			return badRequest("malformed callback form")
		}
	}
	refusal := r.FormValue("error")
	if d := r.FormValue("error_description"); d != "" {
		refusal += ": " + d
	}
	state := r.FormValue("state")
	var secret string
	if strings.HasPrefix(a.baseURL(r), "https://") {
		if c, err := r.Cookie("__Host-" + oauthCookie(state)); err == nil {
			secret = c.Value
		}
		http.SetCookie(w, &http.Cookie{Name: "__Host-" + oauthCookie(state), Path: "/", MaxAge: -1, HttpOnly: true, Secure: true})
	} else {
		if c, err := r.Cookie(oauthCookie(state)); err == nil {
			secret = c.Value
		}
		http.SetCookie(w, &http.Cookie{Name: oauthCookie(state), Path: prefix + "/auth/callback", MaxAge: -1, HttpOnly: true})
	}
	to, err := a.svc.Sessions.FinishRedirectLogin(ctx, auth.RedirectFinish{StateID: state, BrowserSecret: secret, Code: r.FormValue("code"), Refusal: refusal, IP: a.clientIP(r)})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
	return nil
}

// baseURL is the scheme://host clients reach this server at.
func (a *api) baseURL(r *http.Request) string {
	if a.publicURL != "" {
		return a.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *api) profile(w http.ResponseWriter, r *http.Request) error {
	p, err := a.principal(r)
	if err != nil {
		return err
	}
	u, err := a.svc.Sessions.Profile(r.Context(), p)
	if err != nil {
		return err
	}
	type identity struct {
		ID           string         `json:"id"`
		ProviderType string         `json:"provider_type"`
		ProviderID   string         `json:"provider_id"`
		ProviderData map[string]any `json:"provider_data,omitempty"`
	}
	ids := make([]identity, 0, len(u.Identities))
	for _, id := range u.Identities {
		ids = append(ids, identity{ID: id.ID, ProviderType: id.ProviderType, ProviderID: id.ProviderID, ProviderData: id.Data})
	}
	data := u.Data
	if data == nil {
		data = map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user_id":    u.ID,
		"domain_id":  p.App.DomainID,
		"identities": ids,
		"data":       data,
		"type":       u.Type,
	})
	return nil
}

func (a *api) refresh(w http.ResponseWriter, r *http.Request) error {
	tok, err := bearer(r)
	if err != nil {
		return err
	}
	if err := a.checkTokenOrigin(r, tok); err != nil {
		return err
	}
	if err := a.limit(w, r, check{ratelimit.RefreshIP, limitKeyIP(a.clientIP(r))}, check{ratelimit.RefreshSession, secretKey("", tok)}); err != nil {
		return err
	}
	// Rotation is for clients that opt in (the Go SDK does); the Realm SDKs keep one
	// refresh token for the session's life.
	rotate := r.URL.Query().Get("rotate_refresh_token") == "true"
	res, err := a.svc.Sessions.Refresh(r.Context(), tok, rotate)
	if err != nil {
		return err
	}
	out := map[string]string{"access_token": res.AccessToken}
	if res.RefreshToken != "" {
		out["refresh_token"] = res.RefreshToken
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (a *api) logout(w http.ResponseWriter, r *http.Request) error {
	tok, err := bearer(r)
	if err != nil {
		return err
	}
	if err := a.checkTokenOrigin(r, tok); err != nil {
		return err
	}
	if err := a.svc.Sessions.LogOut(r.Context(), tok); err != nil {
		return err
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}

// checkTokenOrigin checks the browser's origin against the app that a refresh token
// belongs to (a token of no app is left for the handler to refuse).
func (a *api) checkTokenOrigin(r *http.Request, tok string) error {
	if app, ok := a.svc.Sessions.RefreshTokenApp(tok); ok {
		return checkOrigin(r, app)
	}
	return nil
}

func (a *api) deleteUser(w http.ResponseWriter, r *http.Request) error {
	p, err := a.principal(r)
	if err != nil {
		return err
	}
	if err := a.svc.Sessions.DeleteUser(r.Context(), p); err != nil {
		return err
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}

func (a *api) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.svc.JWKS())
}

// health is /healthz, a liveness check: the process answers.
func (a *api) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready is /readyz: the store and every data source answer, or 503 with the reason.
func (a *api) ready(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Ready(r.Context()); err != nil {
		a.log.WarnContext(r.Context(), "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// appFromPath returns the client app id of an app-scoped path, or "".
func appFromPath(path string) string {
	rest, ok := strings.CutPrefix(path, prefix+"/app/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	id, err := url.PathUnescape(id)
	if err != nil {
		return ""
	}
	return id
}
