package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wardenauth/warden/internal/appcheck"
	"github.com/wardenauth/warden/internal/appconfig"
)

// check is `warden check --app DIR [--secrets FILE]`: it reads App Services export
// directories and prints, for each, what Warden serves, what it ignores and what is
// wrong, without starting anything. It fails (exit 1) when any app has a problem.
func check(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("warden check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dirs listFlag
	fs.Var(&dirs, "app", "App Services app directory (an export, or the App Services CLI's pull); repeatable")
	secretsFile := fs.String("secrets", "", "JSON file of secret name → value (WARDEN_SECRET_<NAME> overrides an entry)")
	appID := fs.String("app-id", "", "client app id, when the directory has none")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: warden check --app DIR [--app DIR...] [--secrets FILE]\n\nReports what `warden serve` would serve of each app, what it ignores, and what must be fixed; exits 1 on a problem.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpAsked
		}
		return err
	}
	if len(dirs) == 0 {
		fs.Usage()
		return errors.New("check: --app is required")
	}
	secrets, err := appconfig.LoadSecrets(*secretsFile, os.LookupEnv)
	if err != nil {
		return err
	}
	problems := 0
	for i, dir := range dirs {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		app, err := appconfig.Load(dir, appconfig.Options{AppID: *appID})
		if err != nil {
			fmt.Fprintf(stdout, "app directory %s\nproblems:\n  %v\n1 problem(s)\n", dir, err)
			problems++
			continue
		}
		r := appcheck.Check(app, secrets)
		fmt.Fprint(stdout, r.String())
		problems += len(r.Problems)
	}
	if problems > 0 {
		return &exitCode{code: 1, err: fmt.Errorf("check: %d problem(s)", problems)}
	}
	return nil
}

// exitCode is an error that asks main for a particular exit status.
type exitCode struct {
	code int
	err  error
}

func (e *exitCode) Error() string { return e.err.Error() }
