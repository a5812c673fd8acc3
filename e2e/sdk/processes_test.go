package sdk_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardenauth/warden/client"
)

// The tests here run two processes on one FileStorage directory: this test binary again,
// in helper mode (see TestMain), driven line by line over its standard input.

// TestMain runs the tests, or, with WARDEN_SDK_HELPER=1, is the other process.
func TestMain(m *testing.M) {
	if os.Getenv("WARDEN_SDK_HELPER") == "1" {
		helperProcess()
		return
	}
	os.Exit(m.Run())
}

// helperProcess is the other process. It opens the App on $WARDEN_SDK_DIR against
// $WARDEN_SDK_URL and answers commands:
// "login EMAIL PASSWORD", "refresh" (the current user's access token), "call" (a
// function as the current user), "users" (every user on the device, with its state).
func helperProcess() {
	ctx := context.Background()
	app, err := client.New(appID, client.WithBaseURL(os.Getenv("WARDEN_SDK_URL")), client.WithStorage(client.NewFileStorage(os.Getenv("WARDEN_SDK_DIR"))))
	if err != nil {
		fmt.Println("err", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		var err error
		out := "ok"
		switch f[0] {
		case "login":
			var u *client.User
			u, err = app.LogIn(ctx, client.EmailPassword(f[1], f[2]))
			if err == nil {
				out += " " + u.ID()
			}
		case "refresh":
			err = app.CurrentUser().RefreshAccessToken(ctx)
		case "call":
			_, err = app.CurrentUser().CallFunction(ctx, "sum", 1, 2)
		case "users":
			if err = app.ReloadUsers(ctx); err == nil {
				out += " " + describeUsers(app)
			}
		}
		if err != nil {
			out = "err " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Println(out)
	}
	os.Exit(0)
}

// describeUsers lists the App's users as "id:state", sorted.
func describeUsers(a *client.App) string {
	var out []string
	for _, u := range a.AllUsers() {
		out = append(out, u.ID()+":"+string(u.State()))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// helper is the other process.
type helper struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Scanner
}

func startHelper(t *testing.T, url, dir string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "WARDEN_SDK_HELPER=1", "WARDEN_SDK_URL="+url, "WARDEN_SDK_DIR="+dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	h := &helper{t: t, in: in, out: bufio.NewScanner(out)}
	if got := h.read(); got != "ready" {
		t.Fatalf("helper process: %s", got)
	}
	return h
}

func (h *helper) read() string {
	h.t.Helper()
	if !h.out.Scan() {
		h.t.Fatalf("the helper process ended: %v", h.out.Err())
	}
	return h.out.Text()
}

// do sends a command and returns the answer, failing the test on an error answer.
func (h *helper) do(cmd string) string {
	h.t.Helper()
	fmt.Fprintln(h.in, cmd)
	got := h.read()
	if !strings.HasPrefix(got, "ok") {
		h.t.Fatalf("helper %q: %s", cmd, got)
	}
	return strings.TrimSpace(strings.TrimPrefix(got, "ok"))
}

// TestTwoProcessesShareAFileStorage: an App in this process and one in another, on one
// directory, each log a user in; neither login is lost, and a new App (a restarted
// program) has both. Each App also sees the other's user.
func TestTwoProcessesShareAFileStorage(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	mine := s.app(t, client.NewFileStorage(dir)) // opened before the other process writes
	register(t, mine, "x@example.com", "password-x")
	register(t, mine, "y@example.com", "password-y")
	other := startHelper(t, s.url, dir)

	y := other.do("login y@example.com password-y")
	x := logIn(t, mine, client.EmailPassword("x@example.com", "password-x"))

	want := strings.Join(sortedPair(x.ID()+":logged-in", y+":logged-in"), ",")
	// This App took the other's user in when it saved its own login.
	if got := describeUsers(mine); got != want {
		t.Errorf("this process's App: %s, want %s", got, want)
	}
	if got := other.do("users"); got != want { // after Sync
		t.Errorf("the other process's App: %s, want %s", got, want)
	}
	restarted := s.app(t, client.NewFileStorage(dir))
	if got := describeUsers(restarted); got != want {
		t.Fatalf("a restarted program finds %s, want %s", got, want)
	}
	if restarted.CurrentUser().ID() != x.ID() {
		t.Errorf("the active user is %s, want the last to log in (%s)", restarted.CurrentUser().ID(), x.ID())
	}
	// Both users work in the restarted program.
	for _, u := range restarted.AllUsers() {
		if _, err := u.CallFunction(context.Background(), "sum", 1); err != nil {
			t.Errorf("user %s after the restart: %v", u.ID(), err)
		}
	}
}

func sortedPair(a, b string) []string {
	if a > b {
		return []string{b, a}
	}
	return []string{a, b}
}

// stepClock is a server clock the test moves.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *stepClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestTwoProcessesRefreshInTurn: with rotating refresh tokens (the SDK's default), two
// processes with one user on one storage refresh in turn, each longer than the server's
// grace window after the other. Each takes the token the other rotated from the storage
// instead of replaying its own stale copy, so the session lives on in both.
func TestTwoProcessesRefreshInTurn(t *testing.T) {
	url, clock := clockedServer(t)
	dir := t.TempDir()
	mine := appOn(t, url, client.NewFileStorage(dir))
	register(t, mine, "z@example.com", "password-z")
	z := logIn(t, mine, client.EmailPassword("z@example.com", "password-z"))
	other := startHelper(t, url, dir) // loads z's tokens now; they go stale below
	ctx := context.Background()
	for round := range 3 {
		if err := z.RefreshAccessToken(ctx); err != nil {
			t.Fatalf("round %d, this process: %v", round, err)
		}
		clock.add(11 * time.Second) // past the 10 s grace window of the token just rotated
		other.do("refresh")
		other.do("call")
		clock.add(11 * time.Second)
	}
	if _, err := z.CallFunction(ctx, "sum", 1); err != nil || !z.IsLoggedIn() {
		t.Fatalf("this process after the rounds: %v (logged in: %v)", err, z.IsLoggedIn())
	}
	if got := other.do("users"); got != z.ID()+":logged-in" {
		t.Fatalf("the other process: %s", got)
	}
}
