//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestExportToAPipeLeavesItsMode: `users export --out` makes a file it writes private,
// but a device or a pipe is not the export's: exporting to /dev/null once made /dev/null
// root-only on the machine that ran it.
func TestExportToAPipeLeavesItsMode(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "export.pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pipe, 0o666); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	read := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(pipe)
		read <- string(b)
	}()
	runCLI(t, "", "users", "create", "--app", quickstart(t), "--data", data, "--email", "piped@example.com", "--password", "password1")
	runCLI(t, "", "users", "export", "--app", quickstart(t), "--data", data, "--out", pipe)
	if got := <-read; !strings.Contains(got, "piped@example.com") {
		t.Fatalf("the export through the pipe: %q", got)
	}
	if info, err := os.Stat(pipe); err != nil || info.Mode().Perm() != 0o666 {
		t.Fatalf("the pipe's mode changed: %v %v", info.Mode(), err)
	}
}
