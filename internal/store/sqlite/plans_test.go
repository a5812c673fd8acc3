package sqlite_test

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/wardenauth/warden/internal/store"
	"github.com/wardenauth/warden/internal/store/sqlite"
	"github.com/wardenauth/warden/internal/store/sqlstore"
	"github.com/wardenauth/warden/internal/store/storetest"
)

// fullScan is a plan step that reads a table, or a whole index, row by row: with a
// million users such a statement costs a million rows. appWide is a step that walks every
// row of one app through an index.
var fullScan = regexp.MustCompile(`(?m)^SCAN (\w+)`)

var appWide = regexp.MustCompile(`(?m)^SEARCH (\w+) USING (?:COVERING )?INDEX (\w+) \(app_id=\?\)$`)

var coroutine = regexp.MustCompile(`(?m)^CO-ROUTINE (\w+)`)

// TestNoStatementReadsEveryRow runs the conformance suite, then asks SQLite for the plan
// of every statement the suite ran: each finds its rows through an index, so none costs
// more with a million users than with a thousand, except the operators' paged listings.
func TestNoStatementReadsEveryRow(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]bool{}
	t.Run("suite", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store {
			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "warden.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return recording{s, func(qs []string) {
				mu.Lock()
				defer mu.Unlock()
				for _, q := range qs {
					seen[q] = true
				}
			}}
		})
	})
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "warden.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if len(seen) < 50 {
		t.Fatalf("the suite ran %d statements; expected the store's whole repertoire", len(seen))
	}
	for q := range seen {
		p, err := s.Plan(ctx, q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		computed := map[string]bool{"CONSTANT": true} // a constant row is no table
		for _, m := range coroutine.FindAllStringSubmatch(p, -1) {
			computed[m[1]] = true // nor the rows a subquery computed (a search's few ids)
		}
		// users_servers holds only the server users (a partial index): walking it is cheap.
		if m := appWide.FindStringSubmatch(p); m != nil && m[2] != "users_servers" && !pagedListing(q) {
			t.Errorf("walks every row of the app in %s:\n%s\nplan:\n%s", m[1], q, p)
		}
		for _, m := range fullScan.FindAllStringSubmatch(p, -1) {
			if !computed[m[1]] {
				t.Errorf("reads every row of %s:\n%s\nplan:\n%s", m[1], q, p)
			}
		}
	}
}

// pagedListing is an operator's listing that walks the app's rows in its order on
// purpose: a page costs its offset plus its length, and the listing of users counts the
// rows it pages through (from an index; with a state or provider filter, each user read).
// A search is none of these: it must find its users through an index.
func pagedListing(q string) bool {
	for _, listing := range []string{
		"FROM users u WHERE u.app_id = $1",                      // the users, unfiltered or by state or provider
		"FROM audit_events WHERE app_id = $1",                   // the audit log, newest first
		"FROM accounts WHERE app_id = $1 AND status = $2 ORDER", // the pending users
	} {
		if strings.Contains(q, listing) {
			return true
		}
	}
	return false
}

// recording is a store that hands over the statements it ran when it is closed.
type recording struct {
	*sqlstore.Store
	ran func([]string)
}

func (r recording) Close() error {
	r.ran(r.Statements())
	return r.Store.Close()
}
