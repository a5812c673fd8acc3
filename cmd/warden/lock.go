package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on DIR/warden.lock for as long as the server runs,
// and refuses (with a message that says so) when another server holds it. The lock is the
// kernel's (flock): it goes with the process, even when the process is killed.
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, "warden.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another warden server is using the data directory %s (its lock is held); stop it, or give this one its own --data", dir)
		}
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
