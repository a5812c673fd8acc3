package clientapi

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/url"

	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/function"
)

// callFunction serves POST functions/call (§4.11): {name, arguments, service?}, run as
// the calling user; the answer is the function's result as Extended JSON.
func (a *api) callFunction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := a.principal(r)
	if err != nil {
		a.writeError(ctx, w, err)
		return
	}
	if p.App.ClientAppID != r.PathValue("app") {
		a.writeError(ctx, w, &apiError{http.StatusUnauthorized, codeInvalidSession, "invalid session: the access token belongs to another app"})
		return
	}
	body, err := readObject(w, r)
	if err != nil {
		a.writeError(ctx, w, err)
		return
	}
	a.runFunction(w, r, p, body)
}

func (a *api) runFunction(w http.ResponseWriter, r *http.Request, p auth.Principal, body map[string]any) {
	ctx := r.Context()
	name, err := stringField(body, "name", true)
	if err != nil {
		a.writeError(ctx, w, err)
		return
	}
	if svc, _ := body["service"].(string); svc != "" {
		a.writeError(ctx, w, &apiError{http.StatusNotFound, "ServiceNotFound", "service not found: '" + svc + "'"})
		return
	}
	var args []any
	switch v := body["arguments"].(type) {
	case nil:
	case []any:
		args = v
	default:
		a.writeError(ctx, w, &apiError{http.StatusBadRequest, codeInvalidParameter, "'arguments' must be an array"})
		return
	}
	out, err := a.svc.CallFunction(ctx, p, name, args, requestInfo(r))
	if err != nil {
		a.writeError(ctx, w, err)
		return
	}
	writeRaw(w, http.StatusOK, out)
}

// callFunctionStreaming serves GET functions/call?baas_request=... (§4.12). Warden's
// functions return values, not streams, so only the error paths exist yet: a bad token
// is 401, a MongoDB watch names a service that is not served, anything else is refused.
func (a *api) callFunctionStreaming(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if _, err := a.principal(r); err != nil {
		a.writeError(ctx, w, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("baas_request"))
	if err != nil {
		a.writeError(ctx, w, badRequest("baas_request must be standard base64 of a JSON request"))
		return
	}
	body, err := ejson.DecodeObject(raw)
	if err != nil {
		a.writeError(ctx, w, badRequest("baas_request: "+err.Error()))
		return
	}
	if svc, _ := body["service"].(string); svc != "" {
		a.writeError(ctx, w, &apiError{http.StatusNotFound, "ServiceNotFound", "service not found: '" + svc + "'"})
		return
	}
	a.writeError(ctx, w, &apiError{http.StatusBadRequest, codeBadRequest, "streaming function calls are not supported: call the function with POST"})
}

// requestInfo is context.request: the caller's address and user agent (never the body,
// and never the query string, which may carry a token).
func requestInfo(r *http.Request) function.Request {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	headers := map[string][]string{}
	for k, v := range r.Header {
		if k == "Authorization" || k == "Cookie" {
			continue
		}
		headers[k] = v
	}
	ref := r.Referer()
	if u, err := url.Parse(ref); err == nil {
		u.RawQuery = ""
		ref = u.String()
	}
	return function.Request{RemoteIPAddress: ip, HTTPUserAgent: r.UserAgent(), HTTPReferrer: ref, RequestHeaders: headers}
}
