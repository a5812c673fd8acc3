package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
// state, and saves it. change is called once; it may make a network request (a token
// refresh) while the state is held. When change returns an error nothing is saved (its
// error is returned, except errUnchanged, which Update may return as it is). FileStorage
// and MemoryStorage implement it; for a Storage that does not, the App's changes are
// merged all the same but two processes may race.
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

// ReloadUsers takes in what other Apps on the same storage (other processes) changed
// since this App last read it: users they logged in, refreshed, logged out or removed.
// An App does this by itself whenever it changes its users and before every refresh;
// call ReloadUsers before listing users (AllUsers, CurrentUser) when another process may
// have changed them. Changes taken in this way emit no events.
func (a *App) ReloadUsers(ctx context.Context) error { return a.sync(ctx, nil) }

// recordLocked is u as stored; the caller holds a.mu.
func recordLocked(u *User) storedUser {
	return storedUser{ID: u.id, ProviderType: u.providerType, AccessToken: u.accessToken, RefreshToken: u.refreshToken,
		DeviceID: u.deviceID, Profile: u.rawProfile, ActiveAt: u.activeAt}
}

// adoptLocked makes u what rec says, every field of it; the caller holds a.mu.
func adoptLocked(u *User, rec storedUser) {
	if u.accessToken != rec.AccessToken || u.refreshToken != rec.RefreshToken {
		u.accessToken, u.refreshToken = rec.AccessToken, rec.RefreshToken
		u.tokenGen++
	}
	u.providerType, u.deviceID, u.activeAt = rec.ProviderType, rec.DeviceID, rec.ActiveAt
	if rec.RefreshToken != "" {
		u.state = StateLoggedIn
	} else if u.state == StateLoggedIn {
		u.state = StateLoggedOut
	}
	if string(rec.Profile) != string(u.rawProfile) {
		if len(rec.Profile) == 0 {
			u.profile, u.rawProfile = Profile{}, nil
		} else {
			_ = u.setProfile(rec.Profile)
		}
	}
}

func (a *App) userFromRecord(rec storedUser) *User {
	u := &User{app: a, id: rec.ID, state: StateLoggedOut}
	adoptLocked(u, rec)
	u.tokenGen = 0
	return u
}

// mergeRecord merges one user three ways: what this App has (mine), what it last read or
// wrote (base), and what is stored now (theirs). Each part (the session's tokens and how
// it was opened, the profile, the device) is taken from this App when this App changed it
// since base, and from the storage otherwise; the later activity wins.
func mergeRecord(mine, base, theirs storedUser) storedUser {
	out := theirs
	out.ID = mine.ID
	if mine.AccessToken != base.AccessToken || mine.RefreshToken != base.RefreshToken || mine.ProviderType != base.ProviderType {
		out.AccessToken, out.RefreshToken, out.ProviderType = mine.AccessToken, mine.RefreshToken, mine.ProviderType
	}
	if string(mine.Profile) != string(base.Profile) {
		out.Profile = mine.Profile
	}
	if mine.DeviceID != base.DeviceID {
		out.DeviceID = mine.DeviceID
	}
	out.ActiveAt = max(mine.ActiveAt, theirs.ActiveAt)
	return out
}

// mergeLocked merges this App's users into the stored state and the stored state into
// this App; the caller holds a.mu. found says whether there was a stored state at all (a
// storage emptied, or a file set aside by another program, is filled again with this
// App's users rather than read as "every user was removed").
func (a *App) mergeLocked(stored state, found bool) state {
	out := state{Version: 1, DeviceID: stored.DeviceID}
	if a.deviceID != "" {
		out.DeviceID = a.deviceID
	} else {
		a.deviceID = out.DeviceID
	}
	byID := make(map[string]storedUser, len(stored.Users))
	var latest int64
	for _, rec := range stored.Users {
		byID[rec.ID] = rec
		latest = max(latest, rec.ActiveAt)
	}
	seen := map[string]bool{}
	keep := make([]*User, 0, len(a.users))
	for _, u := range a.users {
		seen[u.id] = true
		mine := recordLocked(u)
		base, wasSynced := a.synced[u.id]
		theirs, inStore := byID[u.id]
		switch {
		case !found || !wasSynced && !inStore:
			// New here, or nothing stored: this App's record.
		case !inStore:
			if mine.AccessToken == base.AccessToken && mine.RefreshToken == base.RefreshToken {
				// Unchanged here and gone from the storage: another App removed it.
				u.state, u.accessToken, u.refreshToken = StateRemoved, "", ""
				continue
			}
			// Logged in again here since: it stays.
		case !wasSynced:
			// Another App has it too: this App's session is the newer one here.
			mine = mergeRecord(mine, storedUser{}, theirs)
		default:
			mine = mergeRecord(mine, base, theirs)
		}
		if mine.ActiveAt != base.ActiveAt && mine.ActiveAt <= latest && (!inStore || theirs.ActiveAt != mine.ActiveAt) {
			// Made active here after what the storage last saw (whatever the clocks say).
			mine.ActiveAt = latest + 1
			latest = mine.ActiveAt
		}
		adoptLocked(u, mine)
		out.Users = append(out.Users, mine)
		keep = append(keep, u)
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
	// Most recently active first (ties by id); users stored before active_at existed keep
	// their order.
	sort.SliceStable(out.Users, func(i, j int) bool { return out.Users[i].ActiveAt > out.Users[j].ActiveAt })
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].activeAt > keep[j].activeAt })
	a.users = keep
	return out
}

// sync merges this App's users with the stored state, under the storage's lock; between,
// when set, runs under the lock after the stored state was taken in (a refresh), and what
// it changes is written too. A storage error is told to subscribers once every lock is let
// go.
func (a *App) sync(ctx context.Context, between func()) error {
	err := a.syncLocked(ctx, between)
	if err != nil {
		a.emit(Event{Kind: EventStorageError, Err: err})
	}
	return err
}

func (a *App) syncLocked(ctx context.Context, between func()) error {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	var read, written *state
	err := updateStorage(ctx, a.storage, a.id, func(cur []byte) ([]byte, error) {
		var stored state
		found := len(cur) > 0
		if found {
			if err := json.Unmarshal(cur, &stored); err != nil {
				if !a.resetCorrupt {
					return nil, fmt.Errorf("the stored users are corrupt (%w); WithResetCorruptState replaces them with this App's", err)
				}
				stored, found = state{}, false
			}
		}
		read = &stored
		a.mu.Lock()
		st := a.mergeLocked(stored, found)
		a.mu.Unlock()
		if between != nil {
			between()
			a.mu.Lock()
			a.markSyncedLocked(st) // what was just merged is the base of what between changed
			st = a.mergeLocked(st, true)
			a.mu.Unlock()
		}
		written = &st
		next, err := json.Marshal(st)
		if err == nil && bytes.Equal(next, cur) {
			return cur, errUnchanged
		}
		return next, err
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case err == nil:
		a.markSyncedLocked(*written)
	case read != nil:
		// Read but not written: the base of the next merge is what was read, so that
		// this App's own changes are written next time and nothing else is.
		a.markSyncedLocked(*read)
	}
	return err
}

// errUnchanged tells an Updater that there is nothing to write.
var errUnchanged = errors.New("client: the stored users are unchanged")

func (a *App) markSyncedLocked(st state) {
	a.synced = make(map[string]storedUser, len(st.Users))
	for _, rec := range st.Users {
		a.synced[rec.ID] = rec
	}
}
