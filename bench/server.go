package main

import (
	"fmt"
	"os"
	"os/exec"
)

// server is a `warden serve` process under test, logging to a file.
type server struct {
	cmd  *exec.Cmd
	logs *serverLog
	base string // http://host:port
}

// startServer starts bin serve with args (plus --listen on a free port), env added to the
// environment, its log written to logPath, and returns once /healthz answers.
func startServer(bin, logPath string, env []string, args ...string) (*server, error) {
	addr := freeAddr()
	cmd := exec.Command(bin, append(append([]string{"serve"}, args...), "--listen", addr)...)
	cmd.Env = append(os.Environ(), env...)
	logs, err := newServerLog(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logs.f, logs.f
	if err := cmd.Start(); err != nil {
		logs.Close()
		return nil, err
	}
	s := &server{cmd: cmd, logs: logs, base: "http://" + addr}
	if err := waitHealthy(s.base); err != nil {
		s.stop()
		return nil, fmt.Errorf("%w\n%s", err, logs.tail())
	}
	return s, nil
}

// stop kills the server and closes its log.
func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.logs.Close()
}

// pid is the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }
