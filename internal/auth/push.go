package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/wardenauth/warden/internal/store"
)

// Push registrations are kept, not used: Warden sends no push notifications. The native
// SDKs' PushClient registers a device at start; keeping the registration lets those apps
// work unchanged, and an operator (or a later push sender) can read them.

var pushServicePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// maxPushTokenLength bounds a registration token (FCM tokens are about 160 characters).
const maxPushTokenLength = 4096

// RegisterPush records the registration token of the device behind p for a push service,
// replacing an earlier one.
func (s *Calls) RegisterPush(ctx context.Context, p Principal, service, token string) error {
	if !pushServicePattern.MatchString(service) {
		return fail(ErrInvalidParameter, fmt.Sprintf("push service name %q is invalid", service))
	}
	if token == "" || len(token) > maxPushTokenLength {
		return fail(ErrInvalidParameter, fmt.Sprintf("registrationToken must have 1 to %d characters", maxPushTokenLength))
	}
	err := s.store.PutPushRegistration(ctx, store.PushRegistration{AppID: p.App.ClientAppID, UserID: p.UserID, DeviceID: p.DeviceID,
		Service: service, Token: token, UpdatedAt: s.clock.Now()})
	if errors.Is(err, store.ErrNotFound) {
		return fail(ErrInvalidSession, "invalid session: user not found")
	}
	if err != nil {
		return fmt.Errorf("register push: %w", err)
	}
	s.recordAudit(store.AuditEvent{AppID: p.App.ClientAppID, Actor: "user:" + p.UserID, Action: "push_registered", Target: p.UserID, Outcome: "success", Detail: service})
	return nil
}

// DeregisterPush forgets the registration of the device behind p for a push service.
func (s *Calls) DeregisterPush(ctx context.Context, p Principal, service string) error {
	if !pushServicePattern.MatchString(service) {
		return fail(ErrInvalidParameter, fmt.Sprintf("push service name %q is invalid", service))
	}
	if err := s.store.DeletePushRegistration(ctx, p.App.ClientAppID, p.UserID, p.DeviceID, service); err != nil {
		return fmt.Errorf("deregister push: %w", err)
	}
	s.recordAudit(store.AuditEvent{AppID: p.App.ClientAppID, Actor: "user:" + p.UserID, Action: "push_deregistered", Target: p.UserID, Outcome: "success", Detail: service})
	return nil
}
