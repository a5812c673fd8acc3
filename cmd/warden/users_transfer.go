package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wardenauth/warden/internal/auth"
)

// export writes every user of the app as JSON lines, password hashes included.
func (c *usersCommand) export(ctx context.Context) error {
	w := c.stdout
	if *c.f.out != "" {
		f, err := os.OpenFile(*c.f.out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		// The export holds password hashes: an existing file loses its old mode too. A
		// device or a pipe (/dev/null, /dev/stdout) is not the export's to change.
		if info, err := f.Stat(); err != nil {
			return err
		} else if info.Mode().IsRegular() {
			if err := f.Chmod(0o600); err != nil {
				return err
			}
		}
		w = f
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err := c.svc.Operators.ExportUsers(ctx, c.appID, func(e auth.ExportedUser) error {
		n++
		if n%1000 == 0 {
			fmt.Fprintf(c.stderr, "exported %d users\n", n)
		}
		return enc.Encode(e)
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "exported %d users\n", n)
	return nil
}

// importUsers reads users from an export of a Warden server (--format warden) or from
// App Services' Admin API (--format appservices); ids already there are skipped.
func (c *usersCommand) importUsers(ctx context.Context) error {
	r := io.Reader(os.Stdin)
	if *c.f.in != "" {
		f, err := os.Open(*c.f.in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	switch *c.f.format {
	case "appservices":
		return importAppServices(ctx, c.svc, c.appID, r, *c.f.continueOnError, c.pr, c.stderr)
	case "warden", "":
	default:
		return fmt.Errorf("users import: --format is warden (an export of this server) or appservices (App Services' Admin API users)")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	created, skipped, line := 0, 0, 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var e auth.ExportedUser
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("import: line %d: %w", line, err)
		}
		ok, err := c.svc.Operators.ImportUser(ctx, c.appID, e)
		if err != nil {
			return fmt.Errorf("import: line %d: %w", line, err)
		}
		if ok {
			created++
		} else {
			skipped++
		}
		if (created+skipped)%1000 == 0 {
			fmt.Fprintf(c.stderr, "imported %d users (%d already there)\n", created, skipped)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(c.stderr, "imported %d users (%d already there)\n", created, skipped)
	return c.pr.done(fmt.Sprintf("imported %d users, skipped %d", created, skipped))
}

// sendReset mails a password reset to the accounts imported without a password.
func (c *usersCommand) sendReset(ctx context.Context) error {
	if !*c.f.migrated {
		return errors.New("users send-reset: give --migrated (the accounts imported from App Services without a password)")
	}
	return sendMigratedResets(ctx, c.svc, c.appID, *c.f.after, *c.f.perSecond, *c.f.common.smtp != "", c.pr, c.stderr)
}
