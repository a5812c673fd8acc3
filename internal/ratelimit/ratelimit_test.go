package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestLimiter(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)}
	var refused []string
	l, err := New(NewMemory(), Options{Now: c.now, Overrides: []Limit{{Name: "login.ip", Max: 3, Window: time.Minute}}, Refused: func(n string) { refused = append(refused, n) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		d := l.Allow(ctx, "login.ip", "1.2.3.4")
		if !d.Allowed || d.Remaining != 3-i {
			t.Fatalf("hit %d: %+v", i, d)
		}
	}
	d := l.Allow(ctx, "login.ip", "1.2.3.4")
	if d.Allowed || d.Remaining != 0 || !d.Reset.Equal(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)) {
		t.Fatalf("fourth hit: %+v", d)
	}
	if len(refused) != 1 || refused[0] != "login.ip" {
		t.Fatalf("refused = %v", refused)
	}
	if !l.Allow(ctx, "login.ip", "5.6.7.8").Allowed {
		t.Fatal("another address is limited separately")
	}
	c.t = c.t.Add(time.Minute)
	if !l.Allow(ctx, "login.ip", "1.2.3.4").Allowed {
		t.Fatal("the next window starts afresh")
	}
}

func TestOffAndParse(t *testing.T) {
	l, err := New(NewMemory(), Options{Overrides: []Limit{{Name: "all"}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if !l.Allow(context.Background(), "register.account", "a@b").Allowed {
			t.Fatal("all=off still limits")
		}
	}
	for in, want := range map[string]Limit{
		"login.ip=100/1m":  {"login.ip", 100, time.Minute},
		"mail.account=off": {Name: "mail.account"},
		"refresh.ip=5/10s": {"refresh.ip", 5, 10 * time.Second},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"login.ip", "=1/1m", "login.ip=0/1m", "login.ip=5/1ms", "login.ip=x/1m", "login.ip=5"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if _, err := New(NewMemory(), Options{Overrides: []Limit{{Name: "nope", Max: 1, Window: time.Second}}}); err == nil {
		t.Error("an unknown limit name was accepted")
	}
}

type failing struct{}

func (failing) HitCounter(context.Context, string, time.Time, time.Time) (int, error) {
	return 0, errors.New("database down")
}

func TestCounterFailureAllows(t *testing.T) {
	l, _ := New(failing{}, Options{})
	if !l.Allow(context.Background(), "login.ip", "x").Allowed {
		t.Fatal("a failing counter refused the request")
	}
}
