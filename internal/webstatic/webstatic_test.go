package webstatic

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":      "<h1>home</h1>",
		"js/app.js":       "console.log(1)",
		".env":            "SECRET=1",
		".git/config":     "[core]",
		"assets/logo.txt": "logo",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := Handler(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/", 200, "<h1>home</h1>"},
		{"GET", "/js/app.js", 200, "console.log(1)"},
		{"HEAD", "/js/app.js", 200, ""},
		{"GET", "/.env", 404, ""},
		{"GET", "/.git/config", 404, ""},
		{"GET", "/js/../.env", 404, ""},
		{"GET", "/assets/", 404, ""}, // no listing
		{"GET", "/nope.html", 404, ""},
		{"POST", "/index.html", 405, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || (c.body != "" && !strings.Contains(rec.Body.String(), c.body)) {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, rec.Code, rec.Body.String(), c.status, c.body)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff header", c.method, c.path)
		}
	}
	if _, err := Handler(filepath.Join(dir, "index.html")); err == nil {
		t.Error("a file was accepted as the static directory")
	}
}

// TestSymlinksDoNotLeaveTheRoot: a link inside the directory to a file or directory
// outside it is not served.
func TestSymlinksDoNotLeaveTheRoot(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "signing.pem"), []byte("PRIVATE KEY"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("home"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"key.pem": filepath.Join(outside, "signing.pem"), "keys": outside, "passwd": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	h, err := Handler(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/key.pem", "/keys/signing.pem", "/passwd"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code == 200 || strings.Contains(rec.Body.String(), "PRIVATE KEY") || strings.Contains(rec.Body.String(), "root:") {
			t.Errorf("GET %s through a link out of the root: %d %q", p, rec.Code, rec.Body.String())
		}
	}
}
