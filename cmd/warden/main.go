// Command warden is Warden's one binary: `warden serve` runs the server that speaks the
// Realm client protocol for one or more App Services apps.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..."; without it, the
// module version and VCS revision the Go toolchain records in the binary are printed.
var version = ""

// versionText is the version line: the -X version, or the build information.
func versionText() string {
	if version != "" {
		return "warden " + version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "warden (no build information)"
	}
	text := "warden " + info.Main.Version
	var rev, at, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (modified)"
			}
		}
	}
	if rev != "" {
		text += " revision " + rev + dirty
		if at != "" {
			text += " of " + at
		}
	}
	return text + " " + info.GoVersion
}

const usage = `Warden: a self-hosted authentication and user-management server for Realm SDK apps.

Usage:
  warden serve --app DIR [flags]   run the server (warden serve -h lists the flags)
  warden apikeys create|list|delete  manage server API keys (warden apikeys lists the flags)
  warden users list|get|create|disable|enable|delete|revoke|unlock|export|import
                                   manage users (warden users lists the flags)
  warden admin-keys create|list|delete  manage the keys of the admin API and console
  warden check --app DIR [--secrets FILE]  report what serve would serve of an app, what it
                                   ignores and what must be fixed (exit 1 on a problem)
  warden version                   print the version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errHelpAsked) {
			return // -h: the help was asked for, and printed
		}
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "warden:", err)
		}
		var ec *exitCode
		if errors.As(err, &ec) {
			os.Exit(ec.code)
		}
		os.Exit(2)
	}
}

// errHelpAsked is a -h that was answered: not a failure (exit 0).
var errHelpAsked = errors.New("help asked")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "apikeys":
		return apikeys(ctx, args[1:], stdout, stderr)
	case "users":
		return users(ctx, args[1:], stdout, stderr)
	case "admin-keys":
		return adminKeys(ctx, args[1:], stdout, stderr)
	case "check":
		return check(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionText())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// subcommand starts `warden CMD SUB [flags]`: it returns SUB and a flag set for it, or
// prints usage and flag.ErrHelp when SUB is missing.
func subcommand(cmd, usage string, args []string, stderr io.Writer) (string, *flag.FlagSet, error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return "", nil, flag.ErrHelp
	}
	fs := flag.NewFlagSet("warden "+cmd+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	return args[0], fs, nil
}
