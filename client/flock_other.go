//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package client

import (
	"context"
	"sync"
)

// pathLocks are the locks of lockFile where flock is not available: they hold within
// this process only (every FileStorage on one directory shares them), so two processes
// on one directory may race there.
var pathLocks sync.Map // path → chan struct{}

// lockFile takes this process's lock of path, waiting for it until ctx ends.
func lockFile(ctx context.Context, path string) (func(), error) {
	v, _ := pathLocks.LoadOrStore(path, make(chan struct{}, 1))
	ch := v.(chan struct{})
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
