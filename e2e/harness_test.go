// Package e2e tests the built warden binary from the outside: it builds cmd/warden,
// starts it as a real process on loopback ports, and talks HTTP (and SMTP) to it.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// repoRoot is the module root (the parent of this directory).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// binary builds cmd/warden once per test run.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "warden-e2e-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "warden")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/warden")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// syncBuffer is a bytes.Buffer safe for the process's writer and the test's reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running warden process.
type server struct {
	URL     string
	DataDir string
	cmd     *exec.Cmd
	log     *syncBuffer
	done    chan error
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `warden serve` with args plus --listen and, unless args name one,
// --data in a fresh temporary directory. It waits until /healthz answers.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServer with extra environment variables for the process.
func startServerEnv(t testing.TB, env []string, args ...string) *server {
	t.Helper()
	addr := freePort(t)
	s := &server{URL: "http://" + addr, log: &syncBuffer{}, done: make(chan error, 1)}
	hasData := false
	for i, a := range args {
		if a == "--data" && i+1 < len(args) {
			hasData, s.DataDir = true, args[i+1]
		}
	}
	if !hasData {
		s.DataDir = t.TempDir()
		args = append(args, "--data", s.DataDir)
	}
	// Every test's requests come from loopback: the rate limits are off unless a test
	// sets its own (the rate-limit tests do).
	if !slices.Contains(args, "--rate-limit") {
		args = append(args, "--rate-limit", "all=off")
	}
	args = append([]string{"serve", "--listen", addr}, args...)
	s.cmd = exec.Command(binary(t), args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if env != nil {
		s.cmd.Env = append(os.Environ(), env...)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("warden exited before it was ready: %v\n%s", err, s.log.String())
		default:
		}
		res, err := http.Get(s.URL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("warden did not become healthy\n%s", s.log.String())
	return nil
}

// waitLog waits until the server's log holds want: its output reaches the test through a
// pipe, a little after the server wrote it.
func (s *server) waitLog(t testing.TB, want string) bool {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(s.log.String(), want) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// stop sends SIGTERM and waits for the process to end; it returns its exit error.
func (s *server) stop(t testing.TB) error {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("warden did not stop within 30 s of SIGTERM\n%s", s.log.String())
		return <-s.done
	}
}

// call sends a request with an optional JSON body and bearer token, and returns the
// status, the Content-Type and the decoded JSON body (nil when empty).
func call(t testing.TB, method, url, bearer string, body any) (int, string, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %q", method, url, data)
		}
	}
	return res.StatusCode, res.Header.Get("Content-Type"), out
}
