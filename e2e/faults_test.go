package e2e

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wardenauth/warden/internal/store/postgres/pgtest"
)

// The faults a production server meets, each against the built binary: its database
// going away and coming back, a full disk, and SIGTERM under load.

// session is a login the server acknowledged: its refresh token must keep working.
type session struct{ userID, refresh string }

// loginLoad runs anonymous logins and refreshes from workers until stop is closed, and
// records what the server acknowledged and every answer that was not a success.
type loginLoad struct {
	base, root string
	client     *http.Client

	mu       sync.Mutex
	acked    []session
	statuses map[int]int // non-2xx answers by status
	shapes   int         // non-2xx answers without the protocol's error shape
	netErrs  atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoginLoad(base, root string, workers int) *loginLoad {
	l := &loginLoad{base: base, root: root, client: &http.Client{Timeout: 10 * time.Second}, statuses: map[int]int{}, stop: make(chan struct{})}
	for range workers {
		l.wg.Add(1)
		go l.work()
	}
	return l
}

func (l *loginLoad) work() {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		st, body := l.post(l.base+"/auth/providers/anon-user/login", "")
		if st != 200 {
			continue
		}
		s := session{userID: body["user_id"].(string), refresh: body["refresh_token"].(string)}
		if st, _ := l.post(l.root+"/api/client/v2.0/auth/session", s.refresh); st == 201 {
			l.mu.Lock()
			l.acked = append(l.acked, s)
			l.mu.Unlock()
		}
	}
}

func (l *loginLoad) post(url, bearer string) (int, map[string]any) {
	req, _ := http.NewRequest("POST", url, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := l.client.Do(req)
	if err != nil {
		l.netErrs.Add(1)
		return 0, nil
	}
	defer res.Body.Close()
	body := decodeJSON(res)
	if res.StatusCode >= 300 {
		l.mu.Lock()
		l.statuses[res.StatusCode]++
		if _, ok := body["error_code"].(string); !ok || res.Header.Get("Content-Type") != "application/json" {
			l.shapes++
		}
		l.mu.Unlock()
	}
	return res.StatusCode, body
}

func (l *loginLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *loginLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// waitUntil polls cond until it holds, or fails the test at the deadline.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkSessions refreshes every acknowledged session on the server at root.
func checkSessions(t *testing.T, root string, acked []session) {
	t.Helper()
	for _, s := range acked {
		if st, _, body := call(t, "POST", root+"/api/client/v2.0/auth/session", s.refresh, nil); st != 201 {
			t.Errorf("acknowledged session of %s no longer refreshes: %d %v", s.userID, st, body)
		}
	}
}

// TestPostgresRestartUnderLoad: while the database is down, requests fail at once with
// 503 in the protocol's error shape; when it is back the server serves again without a
// restart, and every session acknowledged before the outage is there.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests skipped in -short mode")
	}
	c, err := pgtest.NewCluster()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("no PostgreSQL of its own: %v", err)
	}
	t.Cleanup(c.Remove)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--app", filepath.Join(repoRoot(t), "examples", "quickstart"), "--database", c.URL())
	load := startLoginLoad(srv.URL+quickstartApp, srv.URL, 6)
	waitUntil(t, "sessions before the outage", 2*time.Minute, func() bool { return load.ackedCount() >= 20 })
	before := load.ackedCount()

	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	// While it is down: a 503 with the error shape, answered within the client's
	// timeout (a hang would be a network error).
	probe := &loginLoad{client: &http.Client{Timeout: 10 * time.Second}, statuses: map[int]int{}}
	waitUntil(t, "a 503 while the database is down", time.Minute, func() bool {
		st, body := probe.post(srv.URL+quickstartApp+"/auth/providers/anon-user/login", "")
		return st == 503 && body["error_code"] == "ServiceUnavailable"
	})
	if probe.netErrs.Load() > 0 {
		t.Fatalf("%d requests hung or broke while the database was down", probe.netErrs.Load())
	}
	waitUntil(t, "a log line that says the store is unavailable", time.Minute, func() bool { return strings.Contains(srv.log.String(), "store unavailable") })

	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "logins after the database is back", 2*time.Minute, func() bool {
		st, _ := probe.post(srv.URL+quickstartApp+"/auth/providers/anon-user/login", "")
		return st == 200
	})
	waitUntil(t, "the load to make progress again", 2*time.Minute, func() bool { return load.ackedCount() >= before+10 })
	load.finish()
	select {
	case err := <-srv.done:
		t.Fatalf("the server exited during the outage: %v", err)
	default:
	}
	load.mu.Lock()
	defer load.mu.Unlock()
	for st, n := range load.statuses {
		if st != 503 {
			t.Errorf("%d answers with status %d (only 503 is expected during the outage)", n, st)
		}
	}
	if load.shapes > 0 {
		t.Errorf("%d error answers without the protocol's error shape", load.shapes)
	}
	if load.netErrs.Load() > 0 {
		t.Errorf("%d requests hung or broke during the outage", load.netErrs.Load())
	}
	checkSessions(t, srv.URL, load.acked)
	t.Logf("%d sessions acknowledged; answers other than success: %v", len(load.acked), load.statuses)
}

// TestDiskFull: on a full disk, writes fail with 503 and a log line that says so, reads
// go on, nothing is corrupted, and writes succeed again once there is room.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("the disk-full test mounts a small tmpfs, which needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	data := filepath.Join(dir, "data")
	srv := startServer(t, "--app", filepath.Join(repoRoot(t), "examples", "quickstart"), "--data", data)
	base := srv.URL + quickstartApp
	st, _, before := call(t, "POST", base+"/auth/providers/anon-user/login", "", map[string]any{})
	if st != 200 {
		t.Fatalf("login before the disk fills: %d", st)
	}

	// Fill the disk.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	// Writes fail with 503; some may still fit in pages the database already has, so
	// write until one is refused.
	var refused map[string]any
	waitUntil(t, "a write refused for want of space", time.Minute, func() bool {
		st, _, body := call(t, "POST", base+"/auth/providers/anon-user/login", "", map[string]any{})
		if st == 503 {
			refused = body
			return true
		}
		if st != 200 {
			t.Fatalf("a write on a full disk answered %d %v, want 503", st, body)
		}
		return false
	})
	if refused["error_code"] != "ServiceUnavailable" || !strings.Contains(refused["error"].(string), "disk is full") {
		t.Errorf("full-disk answer = %v", refused)
	}
	// The log line is written before the answer, and reaches the test through a pipe.
	waitUntil(t, "a log line that says the disk is full", time.Minute, func() bool { return strings.Contains(srv.log.String(), "disk is full") })
	// Reads keep working.
	if st, _, body := call(t, "GET", srv.URL+"/api/client/v2.0/auth/profile", before["access_token"].(string), nil); st != 200 {
		t.Errorf("a read on a full disk: %d %v", st, body)
	}

	// Free the space: writes work again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a write after space was freed", time.Minute, func() bool {
		st, _, _ := call(t, "POST", base+"/auth/providers/anon-user/login", "", map[string]any{})
		return st == 200
	})
	if err := srv.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "warden.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRowContext(context.Background(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check after the full disk: %q %v", check, err)
	}
}

// TestSIGTERMUnderLoad: a SIGTERM lets every request in flight finish: none is cut off
// with an error, the process exits cleanly, and every acknowledged session is there
// after a restart.
func TestSIGTERMUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("fault tests skipped in -short mode")
	}
	app := filepath.Join(repoRoot(t), "examples", "quickstart")
	srv := startServer(t, "--app", app)
	load := startLoginLoad(srv.URL+quickstartApp, srv.URL, 8)
	waitUntil(t, "sessions under load", 2*time.Minute, func() bool { return load.ackedCount() >= 30 })
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var exitErr error
	select {
	case exitErr = <-srv.done:
		srv.done <- exitErr
	case <-time.After(time.Minute):
		t.Fatal("no exit within a minute of SIGTERM")
	}
	load.finish()
	if exitErr != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", exitErr, srv.log.String())
	}
	load.mu.Lock()
	defer load.mu.Unlock()
	if len(load.statuses) > 0 {
		t.Errorf("requests answered with errors during shutdown: %v", load.statuses)
	}
	again := startServer(t, "--app", app, "--data", srv.DataDir)
	checkSessions(t, again.URL, load.acked)
	t.Logf("%d sessions acknowledged before the exit; %d requests refused a connection after it", len(load.acked), load.netErrs.Load())
}
