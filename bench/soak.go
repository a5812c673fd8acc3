package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// soakSample is the server's resident memory and goroutine count at one moment.
type soakSample struct {
	at         time.Duration
	rssKB      int
	goroutines int
}

// soak runs a mixed load (anonymous logins, refreshes, profiles, function calls, a
// password login now and then, log-outs) against `warden serve` on SQLite for duration,
// samples the server's memory and goroutines every 10 s, and writes the report.
func soak(bin, dir string, duration time.Duration, out string) error {
	addr, metricsAddr := freeAddr(), freeAddr()
	cmd := exec.Command(bin, "serve", "--app", "examples/quickstart", "--data", filepath.Join(dir, "soak"), "--listen", addr,
		"--metrics-listen", metricsAddr, "--rate-limit", "all=off")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	if err := waitHealthy(base); err != nil {
		return fmt.Errorf("%w\n%s", err, logs.String())
	}
	api := base + "/api/client/v2.0"
	app := api + "/app/quickstart-abcde"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	if code, _ := post(client, app+"/auth/providers/local-userpass/register", "", `{"email":"soak@example.com","password":"soakpass"}`); code != 201 {
		return fmt.Errorf("register: %d", code)
	}

	var requests, failures atomic.Int64
	count := func(code int) {
		requests.Add(1)
		if code < 200 || code >= 300 {
			failures.Add(1)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, body := post(client, app+"/auth/providers/anon-user/login", "", `{}`)
				count(code)
				var login map[string]string
				_ = json.Unmarshal(body, &login)
				for range 5 {
					c, _ := post(client, api+"/auth/session", login["refresh_token"], "")
					count(c)
					count(get(client, api+"/auth/profile", login["access_token"]))
				}
				c, _ := post(client, app+"/functions/call", login["access_token"], `{"name":"hello","arguments":[]}`)
				count(c)
				if w == 0 && i%20 == 0 {
					c, _ := post(client, app+"/auth/providers/local-userpass/login", "", `{"username":"soak@example.com","password":"soakpass"}`)
					count(c)
				}
				req, _ := http.NewRequest("DELETE", api+"/auth/session", nil)
				req.Header.Set("Authorization", "Bearer "+login["refresh_token"])
				count(do(client, req))
			}
		}()
	}
	var samples []soakSample
	start := time.Now()
	sample := func() {
		samples = append(samples, soakSample{at: time.Since(start).Round(time.Second), rssKB: rssKB(cmd.Process.Pid), goroutines: goroutines(metricsAddr)})
		s := samples[len(samples)-1]
		fmt.Fprintf(os.Stderr, "soak %v: RSS %d MB, %d goroutines, %d requests, %d failures\n", s.at, s.rssKB/1024, s.goroutines, requests.Load(), failures.Load())
	}
	// The first sample is taken after a minute of load (or a tenth of the run): caches,
	// pools and runtimes have filled by then; the report compares it with the last.
	warm := min(time.Minute, duration/10)
	time.Sleep(warm)
	sample()
	for time.Since(start) < duration {
		time.Sleep(min(10*time.Second, duration-time.Since(start)+time.Millisecond))
		sample()
	}
	close(stop)
	wg.Wait()

	first, last := samples[0], samples[len(samples)-1]
	rssGrowth := 100 * float64(last.rssKB-first.rssKB) / float64(first.rssKB)
	gGrowth := 100 * float64(last.goroutines-first.goroutines) / float64(max(first.goroutines, 1))
	verdict := func(g float64) string {
		if g < 10 {
			return "met"
		}
		return "not met"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Soak\n\n")
	fmt.Fprintf(&b, "`go run ./bench -soak %s`: 16 clients loop over an anonymous login, five refreshes and profile reads, a function call and a log-out (one client adds a password login every 20 loops), against `warden serve` on SQLite (synchronous=FULL, default log level, rate limits off), on %s (%d cores).\n\n", duration, cpuModel(), numCPU())
	fmt.Fprintf(&b, "| | after %v | after %v | growth |\n|---|---|---|---|\n", first.at, last.at)
	fmt.Fprintf(&b, "| RSS | %d MB | %d MB | %+.1f %% (goal under 10 %%: %s) |\n", first.rssKB/1024, last.rssKB/1024, rssGrowth, verdict(rssGrowth))
	fmt.Fprintf(&b, "| goroutines | %d | %d | %+.1f %% (goal under 10 %%: %s) |\n\n", first.goroutines, last.goroutines, gGrowth, verdict(gGrowth))
	fmt.Fprintf(&b, "%d requests, %d failed.\n", requests.Load(), failures.Load())
	report := b.String()
	fmt.Print(report)
	return writeSection(out, "## Soak", report)
}

func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func goroutines(metricsAddr string) int {
	res, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(n)
		}
	}
	return 0
}

// writeSection replaces the section that starts with heading in the file (up to the next
// "## " heading or the end), or appends it.
func writeSection(path, heading, section string) error {
	old, _ := os.ReadFile(path)
	text := string(old)
	if i := strings.Index(text, heading+"\n"); i >= 0 {
		rest := text[i+len(heading)+1:]
		end := len(text)
		if j := strings.Index(rest, "\n## "); j >= 0 {
			end = i + len(heading) + 1 + j + 1
		}
		text = text[:i] + section + text[end:]
	} else {
		if text != "" && !strings.HasSuffix(text, "\n\n") {
			text += "\n"
		}
		text += section
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
