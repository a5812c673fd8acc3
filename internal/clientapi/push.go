package clientapi

import (
	"net/http"

	"github.com/wardenauth/warden/internal/auth"
)

// registerPush serves PUT .../push/providers/{service}/registration, which the native
// SDKs' PushClient sends ({"registrationToken": ...}): the token is kept for the user's
// device (Warden sends no pushes).
func (a *api) registerPush(w http.ResponseWriter, r *http.Request) {
	p, ok := a.appPrincipal(w, r)
	if !ok {
		return
	}
	body, err := readObject(w, r)
	if err != nil {
		a.writeError(r.Context(), w, err)
		return
	}
	token, err := stringField(body, "registrationToken", true)
	if err == nil {
		err = a.svc.RegisterPush(r.Context(), p, r.PathValue("service"), token)
	}
	if err != nil {
		a.writeError(r.Context(), w, err)
		return
	}
	writeEmpty(w, http.StatusOK)
}

// deregisterPush serves DELETE .../push/providers/{service}/registration.
func (a *api) deregisterPush(w http.ResponseWriter, r *http.Request) {
	p, ok := a.appPrincipal(w, r)
	if !ok {
		return
	}
	if err := a.svc.DeregisterPush(r.Context(), p, r.PathValue("service")); err != nil {
		a.writeError(r.Context(), w, err)
		return
	}
	writeEmpty(w, http.StatusOK)
}

// appPrincipal authenticates a request to an app's path: the token must belong to that
// app. It answers the error itself.
func (a *api) appPrincipal(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	p, err := a.principal(r)
	if err == nil && p.App.ClientAppID != r.PathValue("app") {
		err = &apiError{http.StatusUnauthorized, codeInvalidSession, "invalid session: the access token belongs to another app"}
	}
	if err != nil {
		a.writeError(r.Context(), w, err)
		return auth.Principal{}, false
	}
	return p, true
}
