package clientapi

import (
	"net/http"

	"github.com/wardenauth/warden/internal/auth"
)

// registerPush serves PUT .../push/providers/{service}/registration, which the native
// SDKs' PushClient sends ({"registrationToken": ...}): the token is kept for the user's
// device (Warden sends no pushes).
func (a *api) registerPush(w http.ResponseWriter, r *http.Request) error {
	p, err := a.appPrincipal(r)
	if err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	token, err := stringField(body, "registrationToken", true)
	if err == nil {
		err = a.svc.Calls.RegisterPush(r.Context(), p, r.PathValue("service"), token)
	}
	if err != nil {
		return err
	}
	writeEmpty(w, http.StatusOK)
	return nil
}

// deregisterPush serves DELETE .../push/providers/{service}/registration.
func (a *api) deregisterPush(w http.ResponseWriter, r *http.Request) error {
	p, err := a.appPrincipal(r)
	if err != nil {
		return err
	}
	if err := a.svc.Calls.DeregisterPush(r.Context(), p, r.PathValue("service")); err != nil {
		return err
	}
	writeEmpty(w, http.StatusOK)
	return nil
}

// appPrincipal authenticates a request to an app's path: the token must belong to that
// app.
func (a *api) appPrincipal(r *http.Request) (auth.Principal, error) {
	p, err := a.principal(r)
	if err == nil && p.App.ClientAppID != r.PathValue("app") {
		err = &apiError{http.StatusUnauthorized, codeInvalidSession, "invalid session: the access token belongs to another app"}
	}
	return p, err
}
