package client

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
)

// Several Apps on one storage. Two processes of one program, or a program restarted while
// the old one still runs, keep their users in one place. Every change an App makes is
// merged into the stored state instead of replacing it: under the storage's lock (a file
// lock for FileStorage), the App reads the stored state, writes the users it changed since
// it last read it, takes every other user as stored (another App's login, refresh or
// removal), and writes the result. Before a refresh it does the same, so that it uses a
// refresh token another App rotated instead of its own stale copy, and no App's rotation
// ends another's session.

// Updater is a Storage that can change an app's state with no other writer in between,
// across processes: Update reads the state (nil when none), lets change compute the new
// state, and saves it. FileStorage and MemoryStorage implement it; for a Storage that does
// not, the App's changes are merged all the same but two processes may race.
type Updater interface {
	Update(ctx context.Context, appID string, change func(current []byte) ([]byte, error)) error
}

func updateStorage(ctx context.Context, s Storage, appID string, change func([]byte) ([]byte, error)) error {
	if u, ok := s.(Updater); ok {
		return u.Update(ctx, appID, change)
	}
	cur, err := s.Load(ctx, appID)
	if err != nil {
		return err
	}
	next, err := change(cur)
	if err != nil {
		return err
	}
	return s.Save(ctx, appID, next)
}

// Sync takes in what other Apps on the same storage (other processes) changed since this
// App last read it: users they logged in, refreshed, logged out or removed. An App syncs
// by itself whenever it changes its users and before every refresh; call Sync before
// listing users (AllUsers, CurrentUser) when another process may have changed them.
func (a *App) Sync(ctx context.Context) error { return a.sync(ctx, nil) }

// recordLocked is u as stored; the caller holds a.mu.
func recordLocked(u *User) storedUser {
	return storedUser{ID: u.id, ProviderType: u.providerType, AccessToken: u.accessToken, RefreshToken: u.refreshToken,
		DeviceID: u.deviceID, Profile: u.rawProfile, ActiveAt: u.activeAt}
}

// adoptLocked takes a stored record (another App's change) into u; the caller holds a.mu.
func adoptLocked(u *User, rec storedUser) {
	if u.accessToken != rec.AccessToken || u.refreshToken != rec.RefreshToken {
		u.accessToken, u.refreshToken = rec.AccessToken, rec.RefreshToken
		u.tokenGen++
	}
	u.deviceID, u.activeAt = rec.DeviceID, rec.ActiveAt
	if rec.RefreshToken != "" {
		u.state = StateLoggedIn
	} else if u.state == StateLoggedIn {
		u.state = StateLoggedOut
	}
	if len(rec.Profile) > 0 && string(rec.Profile) != string(u.rawProfile) {
		_ = u.setProfile(rec.Profile)
	}
}

func (a *App) userFromRecord(rec storedUser) *User {
	u := &User{app: a, id: rec.ID, providerType: rec.ProviderType, state: StateLoggedOut}
	adoptLocked(u, rec)
	u.tokenGen = 0
	return u
}

// mergeLocked merges this App's users into the stored state and the stored state into
// this App; the caller holds a.mu. A user this App changed since it last synced is written
// as this App has it; any other user is taken as stored: updated, added, or, when it is
// gone from the storage, removed here too (another App removed it).
func (a *App) mergeLocked(stored state) state {
	out := state{Version: 1, DeviceID: stored.DeviceID}
	if a.deviceID != "" {
		out.DeviceID = a.deviceID
	} else {
		a.deviceID = out.DeviceID
	}
	byID := make(map[string]storedUser, len(stored.Users))
	for _, rec := range stored.Users {
		byID[rec.ID] = rec
	}
	seen := map[string]bool{}
	keep := make([]*User, 0, len(a.users))
	for _, u := range a.users {
		seen[u.id] = true
		rec := recordLocked(u)
		last, synced := a.synced[u.id]
		cur, inStore := byID[u.id]
		switch {
		case !synced || !reflect.DeepEqual(rec, last):
			out.Users = append(out.Users, rec)
			keep = append(keep, u)
		case inStore:
			adoptLocked(u, cur)
			out.Users = append(out.Users, cur)
			keep = append(keep, u)
		default:
			u.state, u.accessToken, u.refreshToken = StateRemoved, "", ""
		}
	}
	for _, rec := range stored.Users {
		if seen[rec.ID] {
			continue
		}
		if last, synced := a.synced[rec.ID]; synced && reflect.DeepEqual(rec, last) {
			continue // removed here since the last sync
		}
		keep = append(keep, a.userFromRecord(rec))
		out.Users = append(out.Users, rec)
	}
	// Most recently active first; users stored before active_at existed keep their order.
	sort.SliceStable(out.Users, func(i, j int) bool { return out.Users[i].ActiveAt > out.Users[j].ActiveAt })
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].activeAt > keep[j].activeAt })
	a.users = keep
	return out
}

// sync merges this App's users with the stored state, under the storage's lock; between,
// when set, runs under the lock after the stored state was taken in (a refresh), and what
// it changes is written too.
func (a *App) sync(ctx context.Context, between func()) error {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	a.mu.Lock()
	prev := a.synced
	a.mu.Unlock()
	var written state
	err := updateStorage(ctx, a.storage, a.id, func(cur []byte) ([]byte, error) {
		var stored state
		if len(cur) > 0 {
			if err := json.Unmarshal(cur, &stored); err != nil {
				return nil, fmt.Errorf("the stored users are corrupt: %w", err)
			}
		}
		a.mu.Lock()
		st := a.mergeLocked(stored)
		a.mu.Unlock()
		if between != nil {
			between()
			a.mu.Lock()
			a.markSyncedLocked(st) // what was just read is not this App's change
			st = a.mergeLocked(st)
			a.mu.Unlock()
		}
		written = st
		return json.Marshal(st)
	})
	if err != nil {
		a.mu.Lock()
		a.synced = prev // this App's changes are still to be written
		a.mu.Unlock()
		a.emit(Event{Kind: EventStorageError, Err: err})
		return err
	}
	a.mu.Lock()
	a.markSyncedLocked(written)
	a.mu.Unlock()
	return nil
}

func (a *App) markSyncedLocked(st state) {
	a.synced = make(map[string]storedUser, len(st.Users))
	for _, rec := range st.Users {
		a.synced[rec.ID] = rec
	}
}
