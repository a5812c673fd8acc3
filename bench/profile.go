package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// costs is where a refresh's time goes, measured in this run: the in-process refresh
// benchmark with a CPU profile, and the token benchmarks alone.
type costs struct {
	refreshNs float64            // one refresh through the client API handler, in process
	shares    map[string]float64 // part → % of the refresh profile's samples (cumulative)
	mintNs    float64            // minting one access token (an EdDSA signature)
	verifyNs  float64            // verifying an access token seen before
}

// profileParts are the functions whose cumulative share of the refresh profile the report
// shows, under the names it gives them.
var profileParts = []struct{ fn, name string }{
	{"token.(*Ring).MintAccess", "signing the access token (EdDSA)"},
	{"sqlstore.(*Store).GetSessionByTokenHash", "reading the session (SQLite)"},
	{"auth.(*Service).Refresh", "the core's refresh, both of the above included"},
	{"runtime.gcBgMarkWorker", "garbage collection"},
}

var nsPerOp = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op`)

// measureCosts runs the benchmarks (go test) and reads the profile (go tool pprof).
func measureCosts() (costs, error) {
	c := costs{shares: map[string]float64{}}
	dir, err := os.MkdirTemp("", "warden-profile-")
	if err != nil {
		return c, err
	}
	defer os.RemoveAll(dir)
	prof, testBin := filepath.Join(dir, "cpu.out"), filepath.Join(dir, "clientapi.test")
	out, err := exec.Command("go", "test", "./internal/clientapi/", "-run", "^$", "-bench", "^BenchmarkRefresh$",
		"-benchtime", "3s", "-cpuprofile", prof, "-o", testBin).CombinedOutput()
	if err != nil {
		return c, fmt.Errorf("refresh benchmark: %v\n%s", err, out)
	}
	ns := benchNs(out)
	c.refreshNs = ns["BenchmarkRefresh"]
	top, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=400", testBin, prof).CombinedOutput()
	if err != nil {
		return c, fmt.Errorf("pprof: %v\n%s", err, top)
	}
	for _, line := range strings.Split(string(top), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		for _, p := range profileParts {
			if strings.HasSuffix(f[5], p.fn) {
				if v, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64); err == nil {
					c.shares[p.name] = max(c.shares[p.name], v)
				}
			}
		}
	}
	out, err = exec.Command("go", "test", "./internal/token/", "-run", "^$", "-bench", "^(BenchmarkMintAccess|BenchmarkVerifyAccessAgain)$", "-benchtime", "1s").CombinedOutput()
	if err != nil {
		return c, fmt.Errorf("token benchmarks: %v\n%s", err, out)
	}
	ns = benchNs(out)
	c.mintNs, c.verifyNs = ns["BenchmarkMintAccess"], ns["BenchmarkVerifyAccessAgain"]
	return c, nil
}

func benchNs(out []byte) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if g := nsPerOp.FindStringSubmatch(sc.Text()); g != nil {
			if v, err := strconv.ParseFloat(g[2], 64); err == nil {
				m[g[1]] = v
			}
		}
	}
	return m
}

// renderCosts is the report's section on where a refresh's time goes.
func renderCosts(c costs) string {
	var b strings.Builder
	b.WriteString("## Where a refresh's time goes (profiled in this run)\n\n")
	fmt.Fprintf(&b, "`BenchmarkRefresh` (the client API's handler in process, no network, no load generator): **%.1f µs per refresh** with both cores; its CPU profile, as cumulative shares of the samples:\n\n| part | share |\n|---|---:|\n", c.refreshNs/1000)
	for _, p := range profileParts {
		if v, ok := c.shares[p.name]; ok {
			fmt.Fprintf(&b, "| %s | %.0f %% |\n", p.name, v)
		}
	}
	fmt.Fprintf(&b, "\nAlone, minting an access token costs **%.1f µs** (one EdDSA signature and its claims) and verifying one seen before **%.2f µs** (`go test -bench . ./internal/token/`).\n\n", c.mintNs/1000, c.verifyNs/1000)
	return b.String()
}
