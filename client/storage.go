package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Storage keeps an App's users and tokens between runs. Load returns nil (and no error)
// when nothing was saved yet. Implementations must be safe for concurrent use.
type Storage interface {
	Load(ctx context.Context, appID string) ([]byte, error)
	Save(ctx context.Context, appID string, data []byte) error
}

// MemoryStorage keeps state in memory only (for tests, or programs that must not write).
type MemoryStorage struct {
	mu   sync.Mutex
	data map[string][]byte
}

// NewMemoryStorage returns an empty MemoryStorage.
func NewMemoryStorage() *MemoryStorage { return &MemoryStorage{data: map[string][]byte{}} }

// Load implements Storage.
func (m *MemoryStorage) Load(_ context.Context, appID string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.data[appID]...), nil
}

// setAside renames an app's state file so that a new one can start.
func (f *FileStorage) setAside(appID string, now time.Time) error {
	p, err := f.path(appID)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return os.Rename(p, p+".corrupt-"+now.UTC().Format("20060102T150405Z"))
}

// Save implements Storage.
func (m *MemoryStorage) Save(_ context.Context, appID string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[appID] = append([]byte(nil), data...)
	return nil
}

// Update implements Updater.
func (m *MemoryStorage) Update(_ context.Context, appID string, change func([]byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next, err := change(append([]byte(nil), m.data[appID]...))
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return err
	}
	m.data[appID] = append([]byte(nil), next...)
	return nil
}

// FileStorage keeps each app's state in one file, DIR/<app id>.json, readable only by
// its owner (0600), replaced atomically on every save. Several processes may share a
// directory: an App merges its changes into the file under a file lock (see Updater and
// App.ReloadUsers), so no process's login, refresh or removal is lost.
type FileStorage struct {
	Dir string
	mu  sync.Mutex
}

// NewFileStorage returns a FileStorage that keeps its files in dir (made when first
// written).
func NewFileStorage(dir string) *FileStorage { return &FileStorage{Dir: dir} }

// DefaultFileStorage is a FileStorage in the user's config directory (for example
// ~/.config/warden on Linux).
func DefaultFileStorage() (*FileStorage, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return nil, fmt.Errorf("client: no user config directory: %w", err)
	}
	return &FileStorage{Dir: filepath.Join(dir, "warden")}, nil
}

func (f *FileStorage) path(appID string) (string, error) {
	if appID == "" || strings.ContainsAny(appID, `/\`) || appID == "." || appID == ".." {
		return "", fmt.Errorf("client: app id %q cannot name a file", appID)
	}
	return filepath.Join(f.Dir, appID+".json"), nil
}

// Load implements Storage.
func (f *FileStorage) Load(_ context.Context, appID string) ([]byte, error) {
	p, err := f.path(appID)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// Save implements Storage: it replaces the state under the same lock as Update.
func (f *FileStorage) Save(ctx context.Context, appID string, data []byte) error {
	return f.Update(ctx, appID, func([]byte) ([]byte, error) { return data, nil })
}

// Update implements Updater: it holds an exclusive lock on DIR/.<app id>.lock (flock, so
// other processes wait too, until ctx ends; on systems without flock, such as Windows,
// within this process only) while it reads the state, runs change and writes the result
// (unless change reports it unchanged).
func (f *FileStorage) Update(ctx context.Context, appID string, change func([]byte) ([]byte, error)) error {
	p, err := f.path(appID)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, filepath.Join(f.Dir, "."+appID+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	next, err := change(cur)
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.writeLocked(p, appID, next)
}

// writeLocked replaces the file at p with data, atomically; the caller holds f.mu.
func (f *FileStorage) writeLocked(p, appID string, data []byte) error {
	tmp, err := os.CreateTemp(f.Dir, "."+appID+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}
