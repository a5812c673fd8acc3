package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// logCost is what the default access log costs: /healthz on a server at the default log
// level (an access-log line per request) against one at --log-level warn (none).
type logCost struct {
	rounds       int
	info, warn   float64 // mean requests/s over the rounds
	infoR, warnR []float64
}

// cost is the share of /healthz throughput the access log takes.
func (c logCost) cost() float64 { return 1 - c.info/c.warn }

// benchLogCost runs /healthz on the two servers in interleaved rounds (info then warn,
// warn then info, ...), so that a drift of the machine during the run falls on both: on
// a shared machine two runs of the same server differ by more than the cost measured, so
// many short rounds give a steadier mean than a few long ones.
func benchLogCost(bin, dir string, duration time.Duration) (logCost, error) {
	var servers [2]*server
	for i, level := range []string{"info", "warn"} {
		s, err := startServer(bin, filepath.Join(dir, "log-"+level+".log"), nil,
			"--app", "examples/quickstart", "--data", filepath.Join(dir, "log-"+level), "--rate-limit", "all=off", "--log-level", level)
		if err != nil {
			return logCost{}, err
		}
		defer s.stop()
		servers[i] = s
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	c := logCost{rounds: 10}
	fmt.Fprintf(os.Stderr, "access log cost: %d rounds ...\n", c.rounds)
	for round := range c.rounds {
		for k := range servers {
			i := (k + round) % 2 // who goes first alternates
			s := servers[i]
			r := load("GET /healthz", 32, duration/2, func() int { return get(client, s.base+"/healthz", "") })
			if i == 0 {
				c.infoR = append(c.infoR, r.rps)
			} else {
				c.warnR = append(c.warnR, r.rps)
			}
		}
	}
	c.info, c.warn = mean(c.infoR), mean(c.warnR)
	return c, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
