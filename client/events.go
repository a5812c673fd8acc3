package client

// EventKind says what changed.
type EventKind string

// Event kinds.
const (
	EventLoggedIn       EventKind = "logged-in"
	EventLoggedOut      EventKind = "logged-out" // by the user, or because the server refused the session
	EventSwitched       EventKind = "switched"
	EventRemoved        EventKind = "removed"
	EventDeleted        EventKind = "deleted"
	EventTokenRefreshed EventKind = "token-refreshed"
	EventStorageError   EventKind = "storage-error"
	// EventSessionReplaced: a login of a user already logged in on this device (with the
	// same or another provider, an API key after a password for one) replaced its session;
	// the previous session was ended on the server.
	EventSessionReplaced EventKind = "session-replaced"
)

// Event is a change of the App's users.
type Event struct {
	Kind   EventKind
	UserID string
	// Err is the cause of a logout the server forced, or of a storage error.
	Err error
	// PreviousProvider is, for EventSessionReplaced, the provider type of the session
	// that was replaced.
	PreviousProvider string
}

// Subscribe calls fn after every change this App makes to its users (log in, log out,
// switch, removal, deletion, token refresh, a storage error); changes taken in from
// another App on the same storage (ReloadUsers) are not told. fn runs on the goroutine
// that made the change, once the App's locks are let go (it may call the App), and must
// not block for long. The returned function unsubscribes.
func (a *App) Subscribe(fn func(Event)) (unsubscribe func()) {
	a.mu.Lock()
	id := a.nextSub
	a.nextSub++
	a.subs[id] = fn
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		delete(a.subs, id)
		a.mu.Unlock()
	}
}

func (a *App) emit(e Event) {
	a.mu.Lock()
	fns := make([]func(Event), 0, len(a.subs))
	for _, fn := range a.subs {
		fns = append(fns, fn)
	}
	a.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}
