package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wardenauth/warden/internal/auth"
)

// importAppServices imports users as App Services listed them. The whole file is read
// and checked first: a malformed one imports nothing (unless continueOnError), and the
// error names its line.
func importAppServices(ctx context.Context, svc *auth.Service, appID string, r io.Reader, continueOnError bool, pr printer, stderr io.Writer) error {
	users, err := auth.ReadAppServicesUsers(r)
	if err != nil {
		return fmt.Errorf("import: %w (nothing was imported)", err)
	}
	var created, skipped, mustReset int
	var refused, keys []string
	for i, u := range users {
		res, err := svc.Operators.ImportAppServicesUser(ctx, appID, u)
		if err != nil {
			if !continueOnError {
				return fmt.Errorf("import: line %d: user %s: %w (%d users imported before it; run again with --continue-on-error to go on past it)", u.Line, u.ID, err, created)
			}
			refused = append(refused, fmt.Sprintf("line %d: user %s: %v", u.Line, u.ID, err))
			continue
		}
		if !res.Created {
			skipped++
			continue
		}
		created++
		if res.MustResetPassword {
			mustReset++
		}
		for _, k := range res.APIKeys {
			keys = append(keys, fmt.Sprintf("user %s: API key %s", u.ID, k))
		}
		if (i+1)%1000 == 0 {
			fmt.Fprintf(stderr, "%d of %d users read: %d imported, %d already there\n", i+1, len(users), created, skipped)
		}
	}
	for _, line := range refused {
		fmt.Fprintln(stderr, "refused:", line)
	}
	if len(keys) > 0 {
		fmt.Fprintf(stderr, "%d API keys cannot be imported (App Services kept their secrets): their users were imported; make the keys anew:\n  %s\n", len(keys), strings.Join(keys, "\n  "))
	}
	if mustReset > 0 {
		fmt.Fprintf(stderr, "%d email/password users have no password until they reset it (warden users send-reset --migrated mails them)\n", mustReset)
	}
	return pr.done(fmt.Sprintf("imported %d users, skipped %d already there, refused %d", created, skipped, len(refused)))
}

// sendMigratedResets mails a password reset to every account without a password, in
// email order after `after`, at most perSecond a second; each line it prints names the
// last email sent, for a run that must resume.
func sendMigratedResets(ctx context.Context, svc *auth.Service, appID, after string, perSecond float64, hasSMTP bool, pr printer, stderr io.Writer) error {
	if perSecond <= 0 {
		return fmt.Errorf("users send-reset: --rate must be positive")
	}
	if !hasSMTP {
		return fmt.Errorf("users send-reset: give --smtp (or WARDEN_SMTP): the mails go out from this command")
	}
	gap := time.Duration(float64(time.Second) / perSecond)
	sent := 0
	for {
		emails, err := svc.Operators.AccountsWithoutPassword(ctx, appID, after, 500)
		if err != nil {
			return err
		}
		if len(emails) == 0 {
			break
		}
		for _, email := range emails {
			if err := svc.EmailPassword.SendPasswordReset(ctx, appID, "local-userpass", email); err != nil {
				return fmt.Errorf("send-reset: %s: %w (resume with --after %s)", email, err, after)
			}
			sent++
			after = email
			fmt.Fprintf(stderr, "sent %d: %s\n", sent, email)
			select {
			case <-ctx.Done():
				return fmt.Errorf("send-reset: stopped after %d mails (resume with --after %s)", sent, after)
			case <-time.After(gap):
			}
		}
	}
	return pr.done(fmt.Sprintf("sent %d password resets", sent))
}
