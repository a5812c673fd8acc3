package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

const usersUsage = `Usage:
  warden users unlock --app DIR --email EMAIL [--data DIR]   lift the lockout of an email/password account

The command works directly on the data directory (or --database); a running server sees
the change at once.
`

// users manages users on the data directory.
func users(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return flag.ErrHelp
	}
	sub := args[0]
	fs := flag.NewFlagSet("warden users "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	common := addCommonFlags(fs)
	email := fs.String("email", "", "the account's email (unlock)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch sub {
	case "unlock":
		if *email == "" {
			return errors.New("users unlock: --email is required")
		}
		svc, app, closeStore, err := common.open(ctx, "users")
		if err != nil {
			return err
		}
		defer closeStore()
		had, err := svc.Unlock(ctx, app.ClientAppID, *email)
		if err != nil {
			return err
		}
		if had {
			fmt.Fprintln(stdout, "unlocked", *email)
		} else {
			fmt.Fprintln(stdout, *email, "had no failed logins")
		}
		return nil
	}
	fmt.Fprint(stderr, usersUsage)
	return fmt.Errorf("users: unknown subcommand %q", sub)
}
