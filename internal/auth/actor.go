package auth

import (
	"context"

	"github.com/wardenauth/warden/internal/store"
)

// Actor is who makes an operator's change: an admin key ("admin:ops") or a command-line
// user ("cli:root"), and from where.
type Actor struct {
	Name string
	IP   string
}

type actorKey struct{}

// WithActor returns ctx carrying the operator that acts: the Service's operator tools
// record their audit events with it, so that no entry point (the admin API, the CLI, a
// future one) can forget them.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorOf(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// auditOperator records an operator's change in the app's audit log, with the actor in
// ctx. Without one the change is not an operator's (a client's own reset request, say)
// and is not recorded here.
func (s *core) auditOperator(ctx context.Context, appID, action, target, detail string) {
	a, ok := actorOf(ctx)
	if !ok {
		return
	}
	s.recordAudit(store.AuditEvent{AppID: appID, Actor: a.Name, Action: action, Target: target, Outcome: "success", Detail: detail, IP: a.IP})
}
