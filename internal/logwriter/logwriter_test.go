package logwriter

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the writer's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCloseWritesEveryLine: lines written from many goroutines all come out, whole and
// in one piece each, once Close returns; a line written after Close goes out at once.
func TestCloseWritesEveryLine(t *testing.T) {
	var out syncBuffer
	// An interval longer than the test: only Close and full buffers write.
	w := New(&out, time.Hour)
	var wg sync.WaitGroup
	line := strings.Repeat("x", 300)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				fmt.Fprintf(w, "g=%d i=%d %s\n", g, i, line)
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8000 {
		t.Fatalf("%d lines written, want 8000", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if !strings.HasSuffix(l, line) || !strings.HasPrefix(l, "g=") {
			t.Fatalf("a line was split or mixed: %.60q", l)
		}
		seen[l[:strings.Index(l, " x")]] = true
	}
	if len(seen) != 8000 {
		t.Errorf("%d distinct lines, want 8000", len(seen))
	}
	fmt.Fprintln(w, "after close")
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Error("a line written after Close was not written at once")
	}
}

// TestLinesGoOutWithoutClose: a line waits in memory at most about one interval.
func TestLinesGoOutWithoutClose(t *testing.T) {
	var out syncBuffer
	w := New(&out, 10*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "hello")
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "hello\n") {
		if time.Now().After(deadline) {
			t.Fatal("the line was never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
