package main

import (
	"fmt"
	"net/http"
	"path/filepath"
)

// memoryRun is the server's memory at start and after the login flood, with the Go
// runtime's soft memory limit set (GOMEMLIMIT), beside the runs above that leave it unset.
type memoryRun struct {
	limit            string // the GOMEMLIMIT value
	startRSS, peakKB int
}

// memoryLimit is the soft limit the memory run sets: below the 100 MB goal, above what
// two argon2id hashes at once (2 × 19 MiB) and the idle server need.
const memoryLimit = "64MiB"

// benchMemory floods a server started with GOMEMLIMIT as the engine runs flood theirs
// (-flood password logins from 500 clients), and reads its RSS at start and its peak.
func benchMemory(bin, dir string) (memoryRun, error) {
	s, err := startServer(bin, filepath.Join(dir, "memory.log"), []string{"GOMEMLIMIT=" + memoryLimit},
		"--app", "examples/quickstart", "--data", filepath.Join(dir, "memory"), "--rate-limit", "all=off")
	if err != nil {
		return memoryRun{}, err
	}
	defer s.stop()
	m := memoryRun{limit: memoryLimit, startRSS: rssKB(s.pid())}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	app := s.base + "/api/client/v2.0/app/quickstart-abcde"
	if err := registerAccounts(client, app); err != nil {
		return memoryRun{}, err
	}
	flood(client, app, &accountCycle{}, 500, floodLogins)
	if _, err := fmt.Sscan(peakRSS(s.pid()), &m.peakKB); err != nil {
		return memoryRun{}, fmt.Errorf("reading the peak RSS: %w", err)
	}
	return m, nil
}
