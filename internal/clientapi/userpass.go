package clientapi

import (
	"net/http"

	"github.com/wardenauth/warden/internal/ratelimit"
)

// Rate-limit families of the email/password operations.
const (
	limitRegister = "register" // register.ip, register.account
	limitMail     = "mail"     // mail.ip, mail.account: operations that send mail or run a function for an email
	limitToken    = "token"    // mail.ip: operations that consume a mailed token
)

// userpassOp decodes the body of an email/password operation, runs op on its string
// fields, and answers success with status (and no body). Every attempt counts against
// the family's rate limits, whatever its outcome.
func (a *api) userpassOp(w http.ResponseWriter, r *http.Request, status int, family string, fields []string, op func(app, provider string, f map[string]string) error) error {
	app, err := a.svc.App(r.PathValue("app"))
	if err != nil {
		return err
	}
	if err := checkOrigin(r, app); err != nil {
		return err
	}
	ipLimit := ratelimit.MailIP
	if family == limitRegister {
		ipLimit = ratelimit.RegisterIP
	}
	if err := a.limit(w, r, check{ipLimit, limitKeyIP(a.clientIP(r))}); err != nil {
		return err
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	vals := make(map[string]string, len(fields))
	for _, f := range fields {
		v, err := stringField(body, f, true)
		if err != nil {
			return err
		}
		vals[f] = v
	}
	switch family {
	case limitRegister:
		if err := a.limit(w, r, check{ratelimit.RegisterEmail, accountKey(app.ClientAppID, vals["email"])}); err != nil {
			return err
		}
	case limitMail:
		if err := a.limit(w, r, check{ratelimit.MailAccount, accountKey(app.ClientAppID, vals["email"])}); err != nil {
			return err
		}
	}
	if err := op(app.ClientAppID, r.PathValue("provider"), vals); err != nil {
		return err
	}
	writeEmpty(w, status)
	return nil
}

func (a *api) register(w http.ResponseWriter, r *http.Request) error {
	return a.userpassOp(w, r, http.StatusCreated, limitRegister, []string{"email", "password"}, func(app, p string, f map[string]string) error {
		return a.svc.EmailPassword.Register(r.Context(), app, p, f["email"], f["password"])
	})
}

func (a *api) confirm(w http.ResponseWriter, r *http.Request) error {
	return a.userpassOp(w, r, http.StatusNoContent, limitToken, []string{"token", "tokenId"}, func(app, p string, f map[string]string) error {
		return a.svc.EmailPassword.Confirm(r.Context(), app, p, f["token"], f["tokenId"])
	})
}

func (a *api) confirmSend(w http.ResponseWriter, r *http.Request) error {
	return a.userpassOp(w, r, http.StatusNoContent, limitMail, []string{"email"}, func(app, p string, f map[string]string) error {
		return a.svc.EmailPassword.ResendConfirmation(r.Context(), app, p, f["email"])
	})
}

func (a *api) confirmCall(w http.ResponseWriter, r *http.Request) error {
	return a.userpassOp(w, r, http.StatusNoContent, limitMail, []string{"email"}, func(app, p string, f map[string]string) error {
		return a.svc.EmailPassword.RetryCustomConfirmation(r.Context(), app, p, f["email"])
	})
}

func (a *api) reset(w http.ResponseWriter, r *http.Request) error {
	return a.userpassOp(w, r, http.StatusNoContent, limitToken, []string{"token", "tokenId", "password"}, func(app, p string, f map[string]string) error {
		return a.svc.EmailPassword.ResetPassword(r.Context(), app, p, f["token"], f["tokenId"], f["password"])
	})
}

func (a *api) resetSend(w http.ResponseWriter, r *http.Request) error {
	return a.userpassOp(w, r, http.StatusNoContent, limitMail, []string{"email"}, func(app, p string, f map[string]string) error {
		return a.svc.EmailPassword.SendPasswordReset(r.Context(), app, p, f["email"])
	})
}

func (a *api) resetCall(w http.ResponseWriter, r *http.Request) error {
	app, err := a.svc.App(r.PathValue("app"))
	if err == nil {
		err = checkOrigin(r, app)
	}
	if err == nil {
		err = a.limit(w, r, check{ratelimit.MailIP, limitKeyIP(a.clientIP(r))})
	}
	var body map[string]any
	if err == nil {
		body, err = readObject(w, r)
	}
	var email, password string
	if err == nil {
		email, err = stringField(body, "email", true)
	}
	if err == nil {
		err = a.limit(w, r, check{ratelimit.MailAccount, accountKey(app.ClientAppID, email)})
	}
	if err == nil {
		password, err = stringField(body, "password", true)
	}
	var args []any
	if err == nil {
		switch v := body["arguments"].(type) {
		case nil:
		case []any:
			args = v
		default:
			err = &apiError{http.StatusBadRequest, codeInvalidParameter, "'arguments' must be an array"}
		}
	}
	if err == nil {
		err = a.svc.EmailPassword.CallResetFunction(r.Context(), app.ClientAppID, r.PathValue("provider"), email, password, args)
	}
	if err != nil {
		return err
	}
	writeEmpty(w, http.StatusNoContent)
	return nil
}
