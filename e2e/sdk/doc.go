// Package sdk holds the tests of the Go SDK (the client module) against Warden's real
// client API, served in-process on a fresh SQLite store: they live in the server's module
// because they build the server, which the SDK's own module must not depend on.
package sdk
