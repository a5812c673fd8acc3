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

// The named limits and their defaults.
var Defaults = []Limit{
	{"login.ip", 120, time.Minute},       // every login and link, per client address
	{"login.account", 30, time.Minute},   // password and API-key logins, per account
	{"register.ip", 60, time.Hour},       // registrations per client address
	{"register.account", 5, time.Hour},   // registrations of one email
	{"mail.ip", 60, time.Hour},           // confirmation and reset requests per address
	{"mail.account", 10, time.Hour},      // confirmation and reset requests per email
	{"refresh.ip", 600, time.Minute},     // refreshes per client address
	{"refresh.session", 60, time.Minute}, // refreshes per session
	{"apikey.ip", 60, time.Minute},       // API-key logins per address
	{"function.ip", 1200, time.Minute},   // functions/call (functions and MongoDB actions) per address
	{"function.user", 600, time.Minute},  // functions/call per user
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

// Limits returns the limits in force, by name.
func (l *Limiter) Limits() []Limit {
	out := make([]Limit, 0, len(l.limits))
	for _, v := range l.limits {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Allow counts one hit of key against the named limit. A limit that is off, or a
// counter that fails (logged), allows: an outage of the counter must not lock everybody
// out.
func (l *Limiter) Allow(ctx context.Context, name, key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	lim := l.limits[name]
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
