package clientapi

import (
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/ejson"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/ratelimit"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// callFunction serves POST functions/call (user.functions.x() in the SDKs): {name, arguments, service?}, run as
// the calling user; the answer is the function's result as Extended JSON. With a
// service, it is a MongoDB service action (find, insertOne, ...: the SDKs' mongoClient) on that data source, under its rules.
func (a *api) callFunction(w http.ResponseWriter, r *http.Request) error {
	p, err := a.principal(r)
	if err != nil {
		return err
	}
	if p.App.ClientAppID != r.PathValue("app") {
		return &apiError{http.StatusUnauthorized, codeInvalidSession, "invalid session: the access token belongs to another app"}
	}
	if err := a.limit(w, r, check{ratelimit.FunctionIP, limitKeyIP(a.clientIP(r))}, check{ratelimit.FunctionUser, p.App.ClientAppID + "|" + p.UserID}); err != nil {
		return err
	}
	raw, err := readBody(w, r)
	if err != nil {
		return err
	}
	body, err := ejson.DecodeDocument(raw)
	if err != nil {
		return badRequest("malformed request body: " + err.Error())
	}
	return a.runFunction(w, r, p, body)
}

func (a *api) runFunction(w http.ResponseWriter, r *http.Request, p auth.Principal, body bson.D) error {
	ctx := r.Context()
	fields, _ := ejson.Plain(body).(map[string]any)
	name, err := stringField(fields, "name", true)
	if err != nil {
		return err
	}
	service, err := stringField(fields, "service", false)
	if err != nil {
		return err
	}
	var rawArgs bson.A
	for _, e := range body {
		if e.Key != "arguments" || e.Value == nil {
			continue
		}
		arr, ok := e.Value.(bson.A)
		if !ok {
			return &apiError{http.StatusBadRequest, codeInvalidParameter, "'arguments' must be an array"}
		}
		rawArgs = arr
	}
	if service != "" {
		arg, err := serviceArgument(rawArgs)
		if err != nil {
			return err
		}
		out, err := a.svc.Calls.CallService(ctx, p, service, name, arg)
		if err != nil {
			return err
		}
		body, err := function.EncodeResult(out)
		if err != nil {
			return err
		}
		writeRaw(w, http.StatusOK, body)
		return nil
	}
	args, _ := ejson.Plain(rawArgs).([]any)
	out, err := a.svc.Calls.CallFunction(ctx, p, name, args, a.requestInfo(r))
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, out)
	return nil
}

// serviceArgument is the one argument document of a MongoDB service call.
func serviceArgument(args bson.A) (bson.D, error) {
	if len(args) != 1 {
		return nil, &apiError{http.StatusBadRequest, codeInvalidParameter, "a MongoDB service call takes exactly one argument document"}
	}
	arg, ok := args[0].(bson.D)
	if !ok {
		return nil, &apiError{http.StatusBadRequest, codeInvalidParameter, "the argument of a MongoDB service call must be a document"}
	}
	return arg, nil
}

// callFunctionStreaming serves GET functions/call?baas_request=... (the SDKs' streaming call, base64 of the same body): a
// MongoDB watch, answered as server-sent events. Functions return values, not streams,
// so a streaming call without a service is refused.
func (a *api) callFunctionStreaming(w http.ResponseWriter, r *http.Request) error {
	p, err := a.principalFrom(r, true)
	if err != nil {
		return err
	}
	if p.App.ClientAppID != r.PathValue("app") {
		return &apiError{http.StatusUnauthorized, codeInvalidSession, "invalid session: the access token belongs to another app"}
	}
	if err := a.limit(w, r, check{ratelimit.FunctionIP, limitKeyIP(a.clientIP(r))}, check{ratelimit.FunctionUser, p.App.ClientAppID + "|" + p.UserID}); err != nil {
		return err
	}
	raw, err := base64.StdEncoding.DecodeString(r.URL.Query().Get("baas_request"))
	if err != nil {
		return badRequest("baas_request must be standard base64 of a JSON request")
	}
	body, err := ejson.DecodeDocument(raw)
	if err != nil {
		return badRequest("baas_request: " + err.Error())
	}
	fields, _ := ejson.Plain(body).(map[string]any)
	service, _ := fields["service"].(string)
	name, _ := fields["name"].(string)
	if service == "" {
		return &apiError{http.StatusBadRequest, codeBadRequest, "streaming function calls are only available for a MongoDB watch: call the function with POST"}
	}
	if name != "watch" {
		return &apiError{http.StatusBadRequest, codeBadRequest, "only watch can be called as a stream"}
	}
	var args bson.A
	for _, e := range body {
		if e.Key == "arguments" {
			args, _ = e.Value.(bson.A)
		}
	}
	arg, err := serviceArgument(args)
	if err != nil {
		return err
	}
	return a.watch(w, r, p, service, arg)
}

// requestInfo is context.request: the caller's address and user agent (never the body,
// and never the query string, which may carry a token).
func (a *api) requestInfo(r *http.Request) function.Request {
	ip := a.clientIP(r)
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
