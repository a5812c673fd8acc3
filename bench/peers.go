package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// peerRun is a peer's figures, measured as Warden's are: same load generator, same
// clients, same run.
type peerRun struct {
	name    string
	version string
	results []result // health, refresh, read of the user's own record, password login
	peakRSS string
}

// benchPocketBase builds PocketBase from its module under bench/peers (outside the
// server's module, so that Warden's dependencies do not grow), starts it with its default
// users collection, and measures the paths that match Warden's.
func benchPocketBase(dir string, duration time.Duration) (peerRun, error) {
	bin := filepath.Join(dir, "pocketbase")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("bench", "peers", "pocketbase")
	build.Env = append(os.Environ(), "GOWORK=off")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return peerRun{}, fmt.Errorf("building PocketBase: %w", err)
	}
	list := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/pocketbase/pocketbase")
	list.Dir, list.Env = build.Dir, build.Env
	version, err := list.Output()
	if err != nil {
		return peerRun{}, fmt.Errorf("PocketBase's version: %w", err)
	}
	addr := freeAddr()
	cmd := exec.Command(bin, "serve", "--http", addr, "--dir", filepath.Join(dir, "pb_data"))
	logs, err := newServerLog(filepath.Join(dir, "pocketbase.log"))
	if err != nil {
		return peerRun{}, err
	}
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs.f, logs.f
	if err := cmd.Start(); err != nil {
		return peerRun{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	if err := waitReady(base + "/api/health"); err != nil {
		return peerRun{}, fmt.Errorf("%w\n%s", err, logs.tail())
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	users := base + "/api/collections/users"
	for i := range benchAccounts {
		body := fmt.Sprintf(`{"email":"bench%d@example.com","password":"benchpass","passwordConfirm":"benchpass"}`, i)
		if code, b := post(client, users+"/records", "", body); code != 200 {
			return peerRun{}, fmt.Errorf("PocketBase: creating a user: %d %s", code, b)
		}
	}
	code, b := post(client, users+"/auth-with-password", "", `{"identity":"bench0@example.com","password":"benchpass"}`)
	var auth struct {
		Token  string `json:"token"`
		Record struct {
			ID string `json:"id"`
		} `json:"record"`
	}
	if err := json.Unmarshal(b, &auth); err != nil || code != 200 || auth.Token == "" {
		return peerRun{}, fmt.Errorf("PocketBase: login: %d %s", code, b)
	}
	var next atomic.Uint64
	run := peerRun{name: "PocketBase", version: strings.TrimSpace(string(version))}
	for _, s := range []struct {
		name        string
		concurrency int
		do          func() int
	}{
		{"GET /api/health", 32, func() int { return get(client, base+"/api/health", "") }},
		{"POST auth-refresh", 32, func() int { c, _ := post(client, users+"/auth-refresh", auth.Token, ""); return c }},
		{"GET own user record", 32, func() int { return get(client, users+"/records/"+auth.Record.ID, auth.Token) }},
		{"password login", passwordClients, func() int {
			body := fmt.Sprintf(`{"identity":"bench%d@example.com","password":"benchpass"}`, next.Add(1)%benchAccounts)
			c, _ := post(client, users+"/auth-with-password", "", body)
			return c
		}},
	} {
		fmt.Fprintf(os.Stderr, "PocketBase: %s ...\n", s.name)
		run.results = append(run.results, load(s.name, s.concurrency, duration, s.do))
	}
	run.peakRSS = peakRSS(cmd.Process.Pid)
	return run, nil
}

// waitReady waits for url to answer 200 (a server just started: Warden's /healthz, a
// peer's health endpoint).
func waitReady(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer", url)
}

// renderPeers is the side-by-side table: Warden's SQLite figures of this run beside the
// peer's.
func renderPeers(warden engineRun, peers []peerRun) string {
	if len(peers) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Peers, measured in this run\n\n")
	for _, p := range peers {
		fmt.Fprintf(&b, "%s %s, unchanged (`bench/peers/pocketbase`, its own module), on its own SQLite with its default `users` auth collection, driven by the same load generator with the same clients. Its passwords are hashed with bcrypt at its own default cost; Warden's with argon2id.\n\n", p.name, p.version)
		fmt.Fprintf(&b, "| path | Warden (requests/s) | %s (requests/s) | Warden ÷ %s |\n|---|---:|---:|---:|\n", p.name, p.name)
		pairs := []struct {
			name   string
			warden result
		}{
			{"health", warden.results[0]},
			{"refresh", warden.results[1]},
			{"the user's own data (Warden: profile; PocketBase: own record)", warden.results[2]},
			{"password login", warden.results[4]},
		}
		for i, pair := range pairs {
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.2f |\n", pair.name, pair.warden.rps, p.results[i].rps, pair.warden.rps/p.results[i].rps)
		}
		fmt.Fprintf(&b, "\n%s's peak RSS after these: %s (Warden's, after its flood as well: %s).\n\n", p.name, p.peakRSS, warden.peakRSS)
	}
	return b.String()
}

// peerGoal is the peer goal: measured beside Warden in this run, or not.
func peerGoal(warden engineRun, peers []peerRun) goal {
	g := goal{name: "A peer (PocketBase) measured beside Warden in the same run", figure: "not measured in this run (`go run ./bench -peers`)"}
	if len(peers) == 0 {
		return g
	}
	p := peers[0]
	g.measured, g.met = true, true
	g.figure = fmt.Sprintf("Warden ÷ %s: health %.2f, refresh %.2f, own data %.2f, password login %.2f", p.name,
		warden.results[0].rps/p.results[0].rps, warden.results[1].rps/p.results[1].rps, warden.results[2].rps/p.results[2].rps, warden.results[4].rps/p.results[3].rps)
	return g
}
