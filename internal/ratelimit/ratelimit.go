// Package ratelimit counts requests against named limits ("login.ip": 100 per minute,
// say) in fixed windows. The counts live in a Counter: in memory for one node, or in the
// store (PostgreSQL) so that a limit holds across every node behind a load balancer.
// A limit counts every attempt, whatever its outcome, so that an answer such as "name
// already in use" is limited exactly like a success.
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limit is Max hits per Window for each key. Max 0 turns the limit off.
type Limit struct {
	Name   string
	Max    int
	Window time.Duration
}

func (l Limit) String() string {
	if l.Max <= 0 {
		return l.Name + "=off"
	}
	return fmt.Sprintf("%s=%d/%s", l.Name, l.Max, l.Window)
}

// Name names a limit. The HTTP layer counts against these constants only, so that a
// typo is a compile error, not a limit that is silently off.
type Name string

// The named limits.
const (
	LoginIP        Name = "login.ip"         // every login and link, per client address
	LoginAccount   Name = "login.account"    // password and API-key logins, per account
	RegisterIP     Name = "register.ip"      // registrations per client address
	RegisterEmail  Name = "register.account" // registrations of one email
	MailIP         Name = "mail.ip"          // confirmation and reset requests per address
	MailAccount    Name = "mail.account"     // confirmation and reset requests per email
	RefreshIP      Name = "refresh.ip"       // refreshes per client address
	RefreshSession Name = "refresh.session"  // refreshes per session
	APIKeyIP       Name = "apikey.ip"        // API-key logins per address
	FunctionIP     Name = "function.ip"      // functions/call (functions and MongoDB actions) per address
	FunctionUser   Name = "function.user"    // functions/call per user
)

// Defaults are the limits and their default bounds.
var Defaults = []Limit{
	{string(LoginIP), 120, time.Minute},
	{string(LoginAccount), 30, time.Minute},
	{string(RegisterIP), 60, time.Hour},
	{string(RegisterEmail), 5, time.Hour},
	{string(MailIP), 60, time.Hour},
	{string(MailAccount), 10, time.Hour},
	{string(RefreshIP), 600, time.Minute},
	{string(RefreshSession), 60, time.Minute},
	{string(APIKeyIP), 60, time.Minute},
	{string(FunctionIP), 1200, time.Minute},
	{string(FunctionUser), 600, time.Minute},
}

// Parse reads NAME=MAX/WINDOW (login.ip=100/1m) or NAME=off; NAME "all" with "off"
// turns every limit off.
func Parse(s string) (Limit, error) {
	name, spec, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return Limit{}, fmt.Errorf("rate limit %q: expected NAME=MAX/WINDOW or NAME=off", s)
	}
	if spec == "off" {
		return Limit{Name: name}, nil
	}
	maxText, windowText, ok := strings.Cut(spec, "/")
	max, err := strconv.Atoi(maxText)
	if !ok || err != nil || max < 1 {
		return Limit{}, fmt.Errorf("rate limit %q: MAX must be a positive number", s)
	}
	window, err := time.ParseDuration(windowText)
	if err != nil || window < time.Second {
		return Limit{}, fmt.Errorf("rate limit %q: WINDOW must be a duration of at least 1s", s)
	}
	return Limit{Name: name, Max: max, Window: window}, nil
}

// Counter counts hits of a key in a window.
type Counter interface {
	HitCounter(ctx context.Context, key string, windowStart, windowEnd time.Time) (int, error)
}

// Decision is the outcome of one hit.
type Decision struct {
	Limit     Limit
	Allowed   bool
	Remaining int
	// Reset is when the current window ends.
	Reset time.Time
}

// Limiter applies the named limits.
type Limiter struct {
	counter Counter
	limits  map[string]Limit
	now     func() time.Time
	log     *slog.Logger
	refused func(name string)
}

// Options configure a Limiter.
type Options struct {
	// Overrides replace defaults by name; a Limit named "all" with Max 0 turns all off.
	Overrides []Limit
	Now       func() time.Time
	Logger    *slog.Logger
	// Refused is called for every refused hit (for metrics).
	Refused func(name string)
}

// New makes a Limiter over counter with the default limits and the overrides.
func New(counter Counter, opts Options) (*Limiter, error) {
	l := &Limiter{counter: counter, limits: map[string]Limit{}, now: opts.Now, log: opts.Logger, refused: opts.Refused}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	for _, d := range Defaults {
		l.limits[d.Name] = d
	}
	for _, o := range opts.Overrides {
		if o.Name == "all" {
			if o.Max != 0 {
				return nil, fmt.Errorf("rate limit all: only all=off is allowed")
			}
			for name, d := range l.limits {
				d.Max = 0
				l.limits[name] = d
			}
			continue
		}
		if _, known := l.limits[o.Name]; !known {
			return nil, fmt.Errorf("rate limit %q: unknown name (known: %s)", o.Name, strings.Join(Names(), ", "))
		}
		l.limits[o.Name] = o
	}
	return l, nil
}

// Names lists the limit names.
func Names() []string {
	out := make([]string, len(Defaults))
	for i, d := range Defaults {
		out[i] = d.Name
	}
	sort.Strings(out)
	return out
}

// Allow counts one hit of key against the named limit. A limit that is off, or a
// counter that fails (logged), allows: an outage of the counter must not lock everybody
// out.
func (l *Limiter) Allow(ctx context.Context, limit Name, key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	name := string(limit)
	lim, known := l.limits[name]
	if !known {
		panic("ratelimit: unknown limit " + name) // a programming error: every Name is in Defaults
	}
	if lim.Max <= 0 {
		return Decision{Limit: lim, Allowed: true}
	}
	now := l.now()
	start := now.Truncate(lim.Window)
	end := start.Add(lim.Window)
	n, err := l.counter.HitCounter(ctx, name+"|"+key, start, end)
	if err != nil {
		l.log.ErrorContext(ctx, "rate limit counter failed; request allowed", "limit", name, "err", err)
		return Decision{Limit: lim, Allowed: true, Remaining: lim.Max, Reset: end}
	}
	d := Decision{Limit: lim, Allowed: n <= lim.Max, Remaining: max(lim.Max-n, 0), Reset: end}
	if !d.Allowed && l.refused != nil {
		l.refused(name)
	}
	return d
}

// Memory is a Counter for one process.
type Memory struct {
	mu      sync.Mutex
	entries map[string]memoryEntry
	swept   time.Time
}

type memoryEntry struct {
	start, end time.Time
	count      int
}

// NewMemory makes an empty in-memory counter.
func NewMemory() *Memory { return &Memory{entries: map[string]memoryEntry{}} }

// HitCounter implements Counter.
func (m *Memory) HitCounter(_ context.Context, key string, start, end time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if start.Sub(m.swept) > time.Minute {
		for k, e := range m.entries {
			if !e.end.After(start) {
				delete(m.entries, k)
			}
		}
		m.swept = start
	}
	e := m.entries[key]
	if !e.start.Equal(start) {
		e = memoryEntry{start: start, end: end}
	}
	e.count++
	m.entries[key] = e
	return e.count, nil
}
