package clientapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wardenauth/warden/internal/auth"
)

// cors answers browsers as App Services did for realm-web: the request's Origin is
// echoed (never "*"), credentials are allowed only for the OAuth link probe,
// X-BaaS-Location is exposed, and preflights
// are answered directly. An app whose allowed_request_origins is non-empty accepts only
// those origins; for the routes whose path names no app (/auth/...), an origin is
// accepted here when some app accepts it, and the app of the token is checked again
// by the handler.
func (a *api) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if origin == "" {
			if r.Method == http.MethodOptions {
				w.Header().Set("Allow", "GET, POST, PUT, DELETE, PATCH, OPTIONS")
				writeEmpty(w, http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !a.originAllowed(r.URL.Path, origin) {
			a.writeError(r.Context(), w, &apiError{http.StatusForbidden, codeDomainNotAllowed, "origin " + origin + " is not allowed"})
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		if linkProbe(r) && a.probeOriginTrusted(r, origin) {
			// Only realm-web's OAuth link probe sends credentials ("include"); nothing else
			// needs them, so nothing else is allowed them.
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		h.Set("Access-Control-Expose-Headers", "X-BaaS-Location")
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, PATCH, OPTIONS")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", req)
			} else {
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept")
			}
			h.Set("Access-Control-Max-Age", "86400")
			writeEmpty(w, http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// linkProbe reports a request (or the preflight of one) of the OAuth redirect login,
// which realm-web's link probe sends with credentials.
func linkProbe(r *http.Request) bool {
	method := r.Method
	if method == http.MethodOptions {
		method = r.Header.Get("Access-Control-Request-Method")
	}
	if method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix+"/app/") {
		return false
	}
	rest := r.URL.Path[len(prefix+"/app/"):]
	parts := strings.Split(rest, "/")
	return len(parts) == 5 && parts[1] == "auth" && parts[2] == "providers" && parts[4] == "login"
}

func (a *api) originAllowed(path, origin string) bool {
	if id := appFromPath(path); id != "" {
		app, err := a.svc.App(id)
		if err != nil {
			return true // the handler answers "unknown app"
		}
		return allows(app, origin)
	}
	for _, app := range a.svc.Apps() {
		if allows(app, origin) {
			return true
		}
	}
	return false
}

func allows(app *auth.App, origin string) bool {
	if len(app.AllowedOrigins) == 0 {
		return true
	}
	return slices.ContainsFunc(app.AllowedOrigins, func(o string) bool {
		return strings.EqualFold(strings.TrimRight(o, "/"), origin)
	})
}

// checkOrigin refuses a browser request whose origin the app does not allow.
func checkOrigin(r *http.Request, app *auth.App) error {
	origin := r.Header.Get("Origin")
	if origin == "" || allows(app, origin) {
		return nil
	}
	return &apiError{http.StatusForbidden, codeDomainNotAllowed, "origin " + origin + " is not allowed"}
}

// probeOriginTrusted reports whether a page at origin may run the OAuth link probe: a
// link (link=true) whose result goes back to that very origin (the redirect URL, which
// the provider's redirect_uris must list), or an origin the app lists explicitly. Any
// other page could otherwise start a link in a visitor's browser, plant the login's
// cookie there, and read the consent URL.
func (a *api) probeOriginTrusted(r *http.Request, origin string) bool {
	q := r.URL.Query()
	if q.Get("link") != "true" {
		return false
	}
	if app, err := a.svc.App(appFromPath(r.URL.Path)); err == nil && len(app.AllowedOrigins) > 0 && allows(app, origin) {
		return true
	}
	u, err := url.Parse(q.Get("redirect"))
	return err == nil && u.Scheme != "" && strings.EqualFold(u.Scheme+"://"+u.Host, origin)
}
