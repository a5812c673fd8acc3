// Command testrun runs Warden's tests (go test -json with the arguments given, ./...
// by default) and prints what go test prints, plus, at the end, every test that skipped
// and why, and one closing line of counts: a green run cannot hide a skipped half (the
// browser tests without Chromium, the PostgreSQL suite without PostgreSQL, -short).
//
//	go run ./internal/testrun            # the whole suite
//	go run ./internal/testrun -short ./internal/...
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// event is one line of go test -json.
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type skip struct{ pkg, test, why string }

func main() {
	args := os.Args[1:]
	pkgs := false
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			pkgs = true
		}
	}
	if !pkgs {
		args = append(args, "./...", "./client/...") // the SDK is its own module in the workspace
	}
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	passed, failed, skipped, skips := report(out, os.Stdout)
	runErr := cmd.Wait()

	if len(skips) > 0 {
		sort.Slice(skips, func(i, j int) bool { return skips[i].pkg+skips[i].test < skips[j].pkg+skips[j].test })
		parts := make([]string, len(skips))
		for i, s := range skips {
			parts[i] = fmt.Sprintf("%s (%s): %s", s.test, strings.TrimPrefix(s.pkg, "github.com/wardenauth/warden/"), s.why)
		}
		fmt.Printf("SKIPPED: %s\n", strings.Join(parts, "; "))
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if runErr != nil || failed > 0 {
		os.Exit(1)
	}
}

// report prints go test's usual lines from the JSON stream (package results, and the
// whole output of failed tests) and counts the top-level tests.
func report(r io.Reader, w io.Writer) (passed, failed, skipped int, skips []skip) {
	outputs := map[string][]string{} // package/test → its output lines
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(w, sc.Text()) // not JSON: a build error, say
			continue
		}
		key := e.Package + "/" + e.Test
		switch e.Action {
		case "output":
			outputs[key] = append(outputs[key], e.Output)
			if e.Test == "" && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") ||
				strings.HasPrefix(e.Output, "?") || strings.HasPrefix(e.Output, "---")) {
				fmt.Fprint(w, e.Output)
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" {
					for _, line := range outputs[key] {
						if !strings.HasPrefix(line, "ok ") && !strings.HasPrefix(line, "FAIL") {
							fmt.Fprint(w, line)
						}
					}
				}
				continue
			}
			topLevel := !strings.Contains(e.Test, "/")
			switch e.Action {
			case "pass":
				if topLevel {
					passed++
				}
			case "fail":
				if topLevel {
					failed++
				}
				for _, line := range outputs[key] {
					fmt.Fprint(w, line)
				}
			case "skip":
				if topLevel {
					skipped++
					skips = append(skips, skip{e.Package, e.Test, skipReason(outputs[key])})
				}
			}
			delete(outputs, key)
		}
	}
	return passed, failed, skipped, skips
}

// skipReason is the message a test gave t.Skip: its last output line before "--- SKIP".
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "--- SKIP") || strings.HasPrefix(l, "=== ") {
			continue
		}
		if _, msg, ok := strings.Cut(l, ": "); ok && strings.Contains(l, "_test.go:") {
			return msg
		}
		return l
	}
	return "no reason given"
}
