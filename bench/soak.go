package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
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
	metricsAddr := freeAddr()
	srv, err := startServer(bin, filepath.Join(dir, "soak.log"), nil, "--app", "examples/quickstart", "--data", filepath.Join(dir, "soak"),
		"--metrics-listen", metricsAddr, "--rate-limit", "all=off")
	if err != nil {
		return err
	}
	defer srv.stop()
	base := srv.base
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
	var gate sync.RWMutex // the sampler takes it to pause the clients for a quiet count
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
				gate.RLock()
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
				gate.RUnlock()
			}
		}()
	}
	var samples []soakSample
	start := time.Now()
	sample := func() {
		samples = append(samples, soakSample{at: time.Since(start).Round(time.Second), rssKB: rssKB(srv.pid()), goroutines: goroutines(metricsAddr)})
		s := samples[len(samples)-1]
		fmt.Fprintf(os.Stderr, "soak %v: RSS %d MB, %d goroutines, %d requests, %d failures\n", s.at, s.rssKB/1024, s.goroutines, requests.Load(), failures.Load())
	}
	// quiet pauses the clients and counts the goroutines once no request is in flight and
	// the count has settled: under load the count follows the requests in flight.
	quiet := func() int {
		gate.Lock()
		defer gate.Unlock()
		last, same := -1, 0
		for same < 3 {
			time.Sleep(time.Second)
			n := goroutines(metricsAddr)
			if n == last {
				same++
			} else {
				last, same = n, 0
			}
		}
		return last
	}
	// The first figures are taken after a minute of load (or a tenth of the run): caches,
	// pools and runtimes have filled by then.
	warm := min(time.Minute, duration/10)
	time.Sleep(warm)
	quietStart := quiet()
	sample()
	for time.Since(start) < duration {
		time.Sleep(min(10*time.Second, duration-time.Since(start)+time.Millisecond))
		sample()
	}
	quietEnd := quiet()
	close(stop)
	wg.Wait()

	// RSS moves with the garbage collector: the mean of the first third of the samples is
	// compared with the mean of the last third.
	third := max(len(samples)/3, 1)
	mean := func(ss []soakSample) int {
		total := 0
		for _, s := range ss {
			total += s.rssKB
		}
		return total / len(ss)
	}
	firstRSS, lastRSS := mean(samples[:third]), mean(samples[len(samples)-third:])
	first, last := samples[0], samples[len(samples)-1]
	rssGrowth := 100 * float64(lastRSS-firstRSS) / float64(firstRSS)
	gGrowth := 100 * float64(quietEnd-quietStart) / float64(max(quietStart, 1))
	verdict := func(g float64) string {
		if g < 10 {
			return "met"
		}
		return "not met"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Soak\n\n")
	fmt.Fprintf(&b, "`go run ./bench -soak %s`: 16 clients loop over an anonymous login, five refreshes and profile reads, a function call and a log-out (one client adds a password login every 20 loops), against `warden serve` on SQLite (synchronous=FULL, default log level, rate limits off), on %s (%d cores).\n\n", duration, cpuModel(), numCPU())
	fmt.Fprintf(&b, "| | start (from %v) | end (to %v) | growth |\n|---|---|---|---|\n", first.at, last.at)
	fmt.Fprintf(&b, "| RSS, mean of the first and last third of the samples (every 10 s) | %d MB | %d MB | %+.1f %% (goal under 10 %%: %s) |\n", firstRSS/1024, lastRSS/1024, rssGrowth, verdict(rssGrowth))
	fmt.Fprintf(&b, "| goroutines, with the clients paused and the count settled | %d | %d | %+.1f %% (goal under 10 %%: %s) |\n\n", quietStart, quietEnd, gGrowth, verdict(gGrowth))
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
