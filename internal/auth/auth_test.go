package auth

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/store/sqlite"
)

// TestNewLeavesNoGoroutineOnError: a configuration error returns with nothing running.
func TestNewLeavesNoGoroutineOnError(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "w.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	before := runtime.NumGoroutine()
	for range 20 {
		// Two apps with one id: refused.
		app := &appconfig.App{ClientAppID: "dup", DomainID: "d"}
		if _, _, err := New(Options{Store: st, Apps: []*appconfig.App{app, app}}); err == nil {
			t.Fatal("two apps with one id were accepted")
		}
	}
	// Goroutines of other parts come and go; twenty leaked writers would stay.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() >= before+20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after 20 failed New calls", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
