package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// Statements lists, sorted, the texts of the statements with arguments that this store
// has run (each is prepared on its first use): what a look at the database's plans
// should cover.
func (s *Store) Statements() []string {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	seen := map[string]bool{}
	for k := range s.stmts {
		seen[k.query] = true
	}
	out := make([]string, 0, len(seen))
	for q := range seen {
		out = append(out, q)
	}
	sort.Strings(out)
	return out
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// Plan is the database's plan for query with every argument NULL, in the engine's own
// words (Dialect.Plan), for tests and the benchmark's report.
func (s *Store) Plan(ctx context.Context, query string) (string, error) {
	if s.d.Plan == nil {
		return "", errors.New("store: this engine cannot show plans")
	}
	n := 0
	for _, m := range placeholder.FindAllStringSubmatch(query, -1) {
		if i, _ := strconv.Atoi(m[1]); i > n {
			n = i
		}
	}
	p, err := s.d.Plan(ctx, s.r, query, n)
	if err != nil {
		return "", fmt.Errorf("store: plan: %w", err)
	}
	return p, nil
}
