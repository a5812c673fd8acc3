// Package adminapi is Warden's admin API, for operators: list and search users, see a
// user's identities, sessions and custom data, create, disable, enable, delete users,
// revoke sessions, confirm pending users, resend confirmations, send password resets,
// unlock accounts, manage server API keys, read the redacted configuration, and read the
// audit log. Every request needs an admin API key (`warden admin-keys create`) as a
// bearer token, and every change is written to the audit log.
//
// The routes are listed once, in routes; the OpenAPI document served at
// /api/admin/v1/openapi.json describes the same list, and a test holds the two together.
package adminapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/clientip"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/httpjson"
	"github.com/wardenauth/warden/internal/httplog"
	"github.com/wardenauth/warden/internal/store"
)

// Prefix is where the admin API is served.
const Prefix = "/api/admin/v1"

//go:embed openapi.json
var openapi []byte

type api struct {
	svc *auth.Service
	log *slog.Logger
	ips clientip.Resolver
}

type handler func(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error)

type route struct {
	method, path string
	h            func(a *api) handler
}

// routes is every operation of the admin API (paths below Prefix).
var routes = []route{
	{"GET", "/apps", func(a *api) handler { return a.listApps }},
	{"GET", "/apps/{app}/users", func(a *api) handler { return a.listUsers }},
	{"POST", "/apps/{app}/users", func(a *api) handler { return a.createUser }},
	{"GET", "/apps/{app}/users/{id}", func(a *api) handler { return a.getUser }},
	{"DELETE", "/apps/{app}/users/{id}", func(a *api) handler { return a.deleteUser }},
	{"PUT", "/apps/{app}/users/{id}/disable", func(a *api) handler { return a.disable(true) }},
	{"PUT", "/apps/{app}/users/{id}/enable", func(a *api) handler { return a.disable(false) }},
	{"POST", "/apps/{app}/users/{id}/logout", func(a *api) handler { return a.revoke }},
	{"GET", "/apps/{app}/pending_users", func(a *api) handler { return a.pending }},
	{"POST", "/apps/{app}/pending_users/confirm", func(a *api) handler { return a.confirm }},
	{"POST", "/apps/{app}/pending_users/resend", func(a *api) handler { return a.resend }},
	{"POST", "/apps/{app}/password_resets", func(a *api) handler { return a.reset }},
	{"POST", "/apps/{app}/unlock", func(a *api) handler { return a.unlock }},
	{"GET", "/apps/{app}/api_keys", func(a *api) handler { return a.listKeys }},
	{"POST", "/apps/{app}/api_keys", func(a *api) handler { return a.createKey }},
	{"DELETE", "/apps/{app}/api_keys/{id}", func(a *api) handler { return a.deleteKey }},
	{"GET", "/apps/{app}/config", func(a *api) handler { return a.config }},
	{"GET", "/apps/{app}/audit", func(a *api) handler { return a.audit }},
}

// Routes lists the operations as "METHOD /path" (for tests and documentation).
func Routes() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.method + " " + Prefix + rt.path
	}
	return out
}

// New returns the admin API handler.
func New(svc *auth.Service, opts Options) http.Handler {
	a := &api{svc: svc, log: opts.Logger, ips: clientip.Resolver{Trusted: opts.TrustedProxies}}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Prefix+"/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openapi)
	})
	for _, rt := range routes {
		mux.Handle(rt.method+" "+Prefix+rt.path, a.wrap(rt.h(a)))
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such admin endpoint: " + r.Method + " " + r.URL.Path, ErrorCode: "NotFound"})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &httplog.Recorder{ResponseWriter: w}
		w = rec
		defer func() {
			// One line per request, as the client API logs: never the body or the key.
			a.log.LogAttrs(r.Context(), slog.LevelInfo, "admin request", slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Int("status", rec.Status), slog.Duration("took", time.Since(start)))
		}()
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		mux.ServeHTTP(w, r)
	})
}

type errorBody = httpjson.ErrorBody

func writeJSON(w http.ResponseWriter, status int, v any) { httpjson.Write(w, status, v) }

// errorMapping turns the core's errors into statuses for the admin API.
var errorMapping = []struct {
	kind   error
	status int
	code   string
}{
	{auth.ErrAdminUnauthorized, http.StatusUnauthorized, "Unauthorized"},
	{auth.ErrAppNotFound, http.StatusNotFound, "AppNotFound"},
	{auth.ErrNotFound, http.StatusNotFound, "NotFound"},
	{auth.ErrUserNotFound, http.StatusNotFound, "UserNotFound"},
	{auth.ErrAPIKeyNotFound, http.StatusNotFound, "APIKeyNotFound"},
	{auth.ErrProviderNotFound, http.StatusBadRequest, "AuthProviderNotFound"},
	{auth.ErrProviderDisabled, http.StatusBadRequest, "AuthProviderNotFound"},
	{auth.ErrInvalidInput, http.StatusBadRequest, "BadRequest"},
	{auth.ErrInvalidParameter, http.StatusBadRequest, "InvalidParameter"},
	{auth.ErrFlowNotEnabled, http.StatusBadRequest, "BadRequest"},
	{auth.ErrAlreadyConfirmed, http.StatusBadRequest, "UserAlreadyConfirmed"},
	{auth.ErrAccountNameInUse, http.StatusConflict, "AccountNameInUse"},
	{auth.ErrAPIKeyExists, http.StatusConflict, "APIKeyAlreadyExists"},
	{auth.ErrConflict, http.StatusConflict, "Conflict"},
}

func (a *api) wrap(h handler) http.Handler {
	return httpjson.Recover(a.log, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		admin, err := a.svc.Operators.AdminAuthenticate(ctx, strings.TrimSpace(tok))
		if err == nil {
			// The service records each change in the audit log, with this admin as the actor.
			ctx = auth.WithActor(ctx, auth.Actor{Name: "admin:" + admin.Name, IP: a.ips.Of(r)})
			var status int
			var body any
			status, body, err = h(ctx, r, admin)
			if err == nil {
				if status == http.StatusNoContent {
					w.WriteHeader(status)
					return
				}
				writeJSON(w, status, body)
				return
			}
		}
		var ae *auth.Error
		if errors.As(err, &ae) {
			for _, m := range errorMapping {
				if errors.Is(ae.Kind, m.kind) {
					writeJSON(w, m.status, errorBody{Error: ae.Message, ErrorCode: m.code})
					return
				}
			}
		}
		var be *badRequest
		if errors.As(err, &be) {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: be.msg, ErrorCode: "BadRequest"})
			return
		}
		a.log.ErrorContext(ctx, "admin request failed", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal server error", ErrorCode: "InternalServerError"})
	}))
}

type badRequest struct{ msg string }

func (b *badRequest) Error() string { return b.msg }

// body decodes a JSON object body of at most 64 KiB into v.
func body(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return &badRequest{"reading the body: " + err.Error()}
	}
	if err := ejson.CheckDepth(data, ejson.MaxDepth); err != nil {
		return &badRequest{"malformed JSON body: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &badRequest{"malformed JSON body: " + err.Error()}
	}
	return nil
}

// Options configure the admin API.
type Options struct {
	Logger *slog.Logger
	// TrustedProxies are the peers whose X-Forwarded-For names the client (for the audit
	// log's addresses).
	TrustedProxies []netip.Prefix
}

// record writes an admin action to the app's audit log.
func (a *api) app(r *http.Request) (string, error) {
	app, err := a.svc.App(r.PathValue("app"))
	if err != nil {
		return "", err
	}
	return app.ClientAppID, nil
}

func (a *api) listApps(_ context.Context, _ *http.Request, _ store.AdminKey) (int, any, error) {
	var out []map[string]any
	for _, app := range a.svc.Apps() {
		out = append(out, map[string]any{"client_app_id": app.ClientAppID, "name": app.Name, "providers": len(app.Providers)})
	}
	return http.StatusOK, out, nil
}

func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &badRequest{name + " must be a non-negative number"}
	}
	return n, nil
}

// paging reads limit (default 50) and offset.
func paging(r *http.Request) (limit, offset int, err error) {
	if limit, err = intParam(r, "limit", 50); err != nil {
		return 0, 0, err
	}
	offset, err = intParam(r, "offset", 0)
	return limit, offset, err
}

func (a *api) listUsers(ctx context.Context, r *http.Request, _ store.AdminKey) (int, any, error) {
	q := r.URL.Query()
	limit, offset, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	uq := store.UserQuery{Search: q.Get("search"), Provider: q.Get("provider"), State: q.Get("state"), Sort: q.Get("sort"), Desc: q.Get("order") == "desc", Limit: min(limit, 500), Offset: offset}
	switch uq.State {
	case "", "enabled", "disabled":
	default:
		return 0, nil, &badRequest{"state must be enabled or disabled"}
	}
	switch uq.Sort {
	case "", "created", "last_login":
	default:
		return 0, nil, &badRequest{"sort must be created or last_login"}
	}
	users, total, err := a.svc.Operators.ListUsers(ctx, r.PathValue("app"), uq)
	if err != nil {
		return 0, nil, err
	}
	list := make([]userJSON, len(users))
	for i, u := range users {
		list[i] = toUserJSON(u)
	}
	return http.StatusOK, map[string]any{"users": list, "total": total, "limit": uq.Limit, "offset": uq.Offset}, nil
}

type identityJSON struct {
	ID           string         `json:"id"`
	ProviderType string         `json:"provider_type"`
	ProviderID   string         `json:"provider_id"`
	Data         map[string]any `json:"data"`
	CreatedAt    time.Time      `json:"created_at"`
}

type userJSON struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Disabled   bool           `json:"disabled"`
	CreatedAt  time.Time      `json:"created_at"`
	LastLogin  time.Time      `json:"last_login"`
	Data       map[string]any `json:"data"`
	Identities []identityJSON `json:"identities"`
}

func toUserJSON(u store.User) userJSON {
	out := userJSON{ID: u.ID, Type: u.Type, Disabled: u.Disabled, CreatedAt: u.CreatedAt, LastLogin: u.LastLogin, Data: u.Data, Identities: []identityJSON{}}
	if out.Data == nil {
		out.Data = map[string]any{}
	}
	for _, id := range u.Identities {
		d := id.Data
		if d == nil {
			d = map[string]any{}
		}
		out.Identities = append(out.Identities, identityJSON{id.ID, id.ProviderType, id.ProviderID, d, id.CreatedAt})
	}
	return out
}

func (a *api) getUser(ctx context.Context, r *http.Request, _ store.AdminKey) (int, any, error) {
	d, err := a.svc.Operators.UserDetail(ctx, r.PathValue("app"), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, DetailView(d), nil
}

// UserView is a user as the admin API shows it (the CLI's --json shows the same).
func UserView(u store.User) any { return toUserJSON(u) }

// DetailView is a user with sessions and custom data as the admin API shows it.
func DetailView(d auth.UserDetail) any {
	type sessionJSON struct {
		ID           string            `json:"id"`
		DeviceID     string            `json:"device_id"`
		ProviderType string            `json:"provider_type"`
		CreatedAt    time.Time         `json:"created_at"`
		LastUsedAt   time.Time         `json:"last_used_at"`
		ExpiresAt    time.Time         `json:"expires_at"`
		Device       map[string]string `json:"device"`
	}
	sessions := []sessionJSON{}
	for _, s := range d.Sessions {
		sessions = append(sessions, sessionJSON{s.ID, s.DeviceID, s.ProviderType, s.CreatedAt, s.LastUsedAt, s.ExpiresAt, map[string]string{
			"platform": s.Device.Platform, "platform_version": s.Device.PlatformVersion, "sdk_version": s.Device.SDKVersion,
			"app_name": s.Device.ClientAppName, "app_version": s.Device.ClientAppVer}})
	}
	custom := d.CustomData
	if custom == nil {
		custom = map[string]any{}
	}
	type pushJSON struct {
		DeviceID  string    `json:"device_id"`
		Service   string    `json:"service"`
		Token     string    `json:"registration_token"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	push := []pushJSON{}
	for _, r := range d.Push {
		push = append(push, pushJSON{r.DeviceID, r.Service, r.Token, r.UpdatedAt})
	}
	return map[string]any{"user": toUserJSON(d.User), "email": d.Email, "sessions": sessions, "custom_data": custom, "push_registrations": push}
}

func (a *api) createUser(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := body(r, &in); err != nil {
		return 0, nil, err
	}
	u, err := a.svc.Operators.CreateEmailPasswordUser(ctx, r.PathValue("app"), in.Email, in.Password)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toUserJSON(u), nil
}

func (a *api) deleteUser(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	if err := a.svc.Operators.AdminDeleteUser(ctx, r.PathValue("app"), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *api) disable(disabled bool) handler {
	return func(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
		if err := a.svc.Operators.SetUserDisabled(ctx, r.PathValue("app"), r.PathValue("id"), disabled); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	}
}

func (a *api) revoke(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	n, err := a.svc.Operators.RevokeSessions(ctx, r.PathValue("app"), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]int{"sessions_ended": n}, nil
}

func (a *api) pending(ctx context.Context, r *http.Request, _ store.AdminKey) (int, any, error) {
	limit, offset, err := paging(r)
	if err != nil {
		return 0, nil, err
	}
	accts, err := a.svc.Operators.ListPendingUsers(ctx, r.PathValue("app"), min(limit, 500), offset)
	if err != nil {
		return 0, nil, err
	}
	out := []map[string]any{}
	for _, ac := range accts {
		out = append(out, map[string]any{"id": ac.ID, "email": ac.Email, "created_at": ac.CreatedAt})
	}
	return http.StatusOK, out, nil
}

type emailBody struct {
	Email string `json:"email"`
}

func (a *api) emailOp(r *http.Request, op func(app, email string) error) (int, any, error) {
	var in emailBody
	if err := body(r, &in); err != nil {
		return 0, nil, err
	}
	if in.Email == "" {
		return 0, nil, &badRequest{"email is required"}
	}
	app, err := a.app(r)
	if err != nil {
		return 0, nil, err
	}
	if err := op(app, in.Email); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *api) confirm(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	return a.emailOp(r, func(app, email string) error { return a.svc.Operators.ConfirmPendingUser(ctx, app, email) })
}

func (a *api) resend(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	return a.emailOp(r, func(app, email string) error {
		return a.svc.EmailPassword.ResendConfirmation(ctx, app, "local-userpass", email)
	})
}

func (a *api) reset(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	return a.emailOp(r, func(app, email string) error {
		return a.svc.EmailPassword.SendPasswordReset(ctx, app, "local-userpass", email)
	})
}

func (a *api) unlock(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	return a.emailOp(r, func(app, email string) error {
		_, err := a.svc.Operators.Unlock(ctx, app, email)
		return err
	})
}

func (a *api) listKeys(ctx context.Context, r *http.Request, _ store.AdminKey) (int, any, error) {
	keys, err := a.svc.APIKeys.ListServerAPIKeys(ctx, r.PathValue("app"))
	if err != nil {
		return 0, nil, err
	}
	out := []keyJSON{}
	for _, k := range keys {
		out = append(out, toKeyJSON(k))
	}
	return http.StatusOK, out, nil
}

func (a *api) createKey(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	var in struct {
		Name string `json:"name"`
	}
	if err := body(r, &in); err != nil {
		return 0, nil, err
	}
	k, err := a.svc.APIKeys.CreateServerAPIKey(ctx, r.PathValue("app"), in.Name)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toKeyJSON(k), nil
}

type keyJSON struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
	Key      string `json:"key,omitempty"`
}

func toKeyJSON(k auth.APIKey) keyJSON { return keyJSON{k.ID, k.Name, k.Disabled, k.Key} }

func (a *api) deleteKey(ctx context.Context, r *http.Request, admin store.AdminKey) (int, any, error) {
	if err := a.svc.APIKeys.DeleteServerAPIKey(ctx, r.PathValue("app"), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (a *api) config(_ context.Context, r *http.Request, _ store.AdminKey) (int, any, error) {
	v, err := a.svc.Operators.AppConfig(r.PathValue("app"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

func (a *api) audit(ctx context.Context, r *http.Request, _ store.AdminKey) (int, any, error) {
	q := r.URL.Query()
	limit, err := intParam(r, "limit", 100)
	if err != nil {
		return 0, nil, err
	}
	before, err := intParam(r, "before", 0)
	if err != nil {
		return 0, nil, err
	}
	f := store.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Target: q.Get("target"), Outcome: q.Get("outcome"), BeforeSeq: int64(before), Limit: min(limit, 1000)}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return 0, nil, &badRequest{"since must be an RFC 3339 time"}
		}
		f.Since = t
	}
	evs, err := a.svc.Operators.AuditLog(ctx, r.PathValue("app"), f)
	if err != nil {
		return 0, nil, err
	}
	type eventJSON struct {
		Seq     int64     `json:"seq"`
		At      time.Time `json:"at"`
		Actor   string    `json:"actor"`
		Action  string    `json:"action"`
		Target  string    `json:"target"`
		Outcome string    `json:"outcome"`
		Detail  string    `json:"detail"`
		IP      string    `json:"ip"`
	}
	out := []eventJSON{}
	for _, e := range evs {
		out = append(out, eventJSON{e.Seq, e.At, e.Actor, e.Action, e.Target, e.Outcome, e.Detail, e.IP})
	}
	return http.StatusOK, map[string]any{"events": out}, nil
}
