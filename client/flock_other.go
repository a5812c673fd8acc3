//go:build !unix

package client

// lockFile is a no-op where flock is not available: FileStorage's changes are then
// atomic within one process only (two processes on one directory may race).
func lockFile(string) (func(), error) { return func() {}, nil }
