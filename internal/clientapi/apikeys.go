package clientapi

import (
	"net/http"

	"github.com/wardenauth/warden/internal/auth"
)

// User API keys are managed with the refresh token as the bearer (the SDKs send it, not the access token).

type apiKeyJSON struct {
	ID       string `json:"_id"`
	Key      string `json:"key,omitempty"`
	Name     string `json:"name"`
	Disabled bool   `json:"disabled"`
}

func keyJSON(k auth.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, Key: k.Key, Name: k.Name, Disabled: k.Disabled}
}

// withRefresh authenticates the request's refresh token and checks its app's origins.
func (a *api) withRefresh(r *http.Request, fn func(auth.Principal) error) error {
	tok, err := bearer(r)
	if err == nil {
		var p auth.Principal
		if p, err = a.svc.Sessions.AuthenticateRefresh(r.Context(), tok); err == nil {
			if err = checkOrigin(r, p.App); err == nil {
				err = fn(p)
			}
		}
	}
	return err
}

func (a *api) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	return a.withRefresh(r, func(p auth.Principal) error {
		body, err := readObject(w, r)
		if err != nil {
			return err
		}
		name, err := stringField(body, "name", true)
		if err != nil {
			return err
		}
		k, err := a.svc.APIKeys.CreateAPIKey(r.Context(), p, name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, keyJSON(k))
		return nil
	})
}

func (a *api) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	return a.withRefresh(r, func(p auth.Principal) error {
		keys, err := a.svc.APIKeys.ListAPIKeys(r.Context(), p)
		if err != nil {
			return err
		}
		out := make([]apiKeyJSON, len(keys))
		for i, k := range keys {
			out[i] = keyJSON(k)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

func (a *api) getAPIKey(w http.ResponseWriter, r *http.Request) error {
	return a.withRefresh(r, func(p auth.Principal) error {
		k, err := a.svc.APIKeys.GetAPIKey(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, keyJSON(k))
		return nil
	})
}

func (a *api) setAPIKeyDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	return a.withRefresh(r, func(p auth.Principal) error {
		if err := a.svc.APIKeys.SetAPIKeyDisabled(r.Context(), p, r.PathValue("id"), disabled); err != nil {
			return err
		}
		writeEmpty(w, http.StatusNoContent)
		return nil
	})
}

func (a *api) enableAPIKey(w http.ResponseWriter, r *http.Request) error {
	return a.setAPIKeyDisabled(w, r, false)
}

func (a *api) disableAPIKey(w http.ResponseWriter, r *http.Request) error {
	return a.setAPIKeyDisabled(w, r, true)
}

func (a *api) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	return a.withRefresh(r, func(p auth.Principal) error {
		if err := a.svc.APIKeys.DeleteAPIKey(r.Context(), p, r.PathValue("id")); err != nil {
			return err
		}
		writeEmpty(w, http.StatusNoContent)
		return nil
	})
}
