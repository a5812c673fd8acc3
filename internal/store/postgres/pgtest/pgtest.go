// Package pgtest gives tests a real PostgreSQL server: the one named by WARDEN_TEST_POSTGRES
// (a postgres:// URL), or else a throwaway server it starts itself with Debian's
// PostgreSQL 15 (initdb as the postgres user into a temporary directory, loopback only)
// and stops when the test binary ends. Each call to Database makes a fresh database.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

var (
	once    sync.Once
	baseURL string
	stopFn  func()
	initErr error
)

// BinDir returns the directory of the newest PostgreSQL server programs that Debian's
// packages installed (/usr/lib/postgresql/<major>/bin), or "" when there is none.
func BinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestMajor := "", -1
	for _, d := range dirs {
		major, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil && major > bestMajor {
			best, bestMajor = d, major
		}
	}
	return best
}

// Available reports whether a PostgreSQL server can be had, and why not.
func Available() error {
	once.Do(start)
	return initErr
}

// Stop stops the server pgtest started (call it from TestMain after m.Run).
func Stop() {
	if stopFn != nil {
		stopFn()
	}
}

// Database returns the URL of a new, empty database. Without a server it skips the
// test, or fails it when CI is set (CI must test both engines).
func Database(t testing.TB) string {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("no PostgreSQL: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "warden_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", baseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", baseURL)
		if err == nil {
			_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			db.Close()
		}
	})
	return strings.Replace(baseURL, "/postgres?", "/"+name+"?", 1)
}

func start() {
	if u := os.Getenv("WARDEN_TEST_POSTGRES"); u != "" {
		baseURL = u
		return
	}
	c, err := NewCluster()
	if err != nil {
		initErr = err
		return
	}
	if err := c.Start(); err != nil {
		c.Remove()
		initErr = err
		return
	}
	baseURL = c.URL()
	stopFn = c.Remove
}

// Cluster is a PostgreSQL server of a test's own, in a temporary directory, on a free
// loopback port, that the test may stop and start again (to test a database outage).
type Cluster struct {
	bin, dir, data, port string
	// Durable starts the server with fsync on (PostgreSQL's default), as production runs
	// it; tests run with fsync off, since they never survive a machine crash.
	Durable bool
	// Settings are more server settings, as name=value.
	Settings []string
}

// NewCluster makes (initdb) a cluster; Start starts it.
func NewCluster() (*Cluster, error) {
	pgBin := BinDir()
	if pgBin == "" {
		return nil, errors.New("PostgreSQL is not installed (apt-get install postgresql) and WARDEN_TEST_POSTGRES is not set")
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no postgres user: %w", err)
	}
	dir, err := os.MkdirTemp("", "warden-pg-")
	if err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := exec.Command("chown", pg.Uid+":"+pg.Gid, dir).Run(); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	c := &Cluster{bin: pgBin, dir: dir, data: filepath.Join(dir, "data"), port: port}
	if err := c.run(filepath.Join(pgBin, "initdb"), "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// URL is the connection string of the cluster's postgres database.
func (c *Cluster) URL() string {
	return "postgres://postgres@127.0.0.1:" + c.port + "/postgres?sslmode=disable"
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() error {
	fsync := "off"
	if c.Durable {
		fsync = "on"
	}
	opts := "-c listen_addresses=127.0.0.1 -p " + c.port + " -k " + c.dir + " -c fsync=" + fsync + " -c max_connections=300"
	for _, setting := range c.Settings {
		opts += " -c " + setting
	}
	return c.run(filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-l", filepath.Join(c.dir, "pg.log"), "-w", "-o", opts, "start")
}

// Stop stops the server (fast shutdown: sessions are ended) and waits until it is down.
func (c *Cluster) Stop() error {
	return c.run(filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-m", "fast", "-w", "stop")
}

// Remove stops the server at once and deletes its files.
func (c *Cluster) Remove() {
	_ = c.run(filepath.Join(c.bin, "pg_ctl"), "-D", c.data, "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(c.dir)
}

func (c *Cluster) run(args ...string) error {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
	} else if cur, _ := user.Current(); cur != nil && cur.Username == "postgres" {
		cmd = exec.Command(args[0], args[1:]...)
	} else {
		return errors.New("starting PostgreSQL needs root (runuser) or the postgres user")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", filepath.Base(args[0]), err, out)
	}
	return nil
}

// NewDatabase makes a fresh database outside a test (for the benchmark) and returns its
// URL and a function that drops it.
func NewDatabase() (string, func(), error) {
	if err := Available(); err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "warden_bench_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", baseURL)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	drop := func() {
		if db, err := sql.Open("pgx", baseURL); err == nil {
			_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			db.Close()
		}
	}
	return strings.Replace(baseURL, "/postgres?", "/"+name+"?", 1), drop, nil
}
