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
	"text/tabwriter"
	"time"

	"github.com/wardenauth/warden/internal/adminapi"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/store"
)

const usersUsage = `Usage: warden users COMMAND --app DIR [--data DIR | --database URL] [flags]

  list    [--search S] [--provider TYPE] [--state enabled|disabled] [--sort created|last_login] [--desc] [--limit N] [--offset N]
  get     --id ID                       a user with identities, sessions and custom data
  create  --email E [--password P]      a confirmed email/password user (the password is read from stdin when not given)
  disable --id ID                       refuse the user's logins and end its sessions at once
  enable  --id ID
  revoke  --id ID                       end every session: the user must log in again
  delete  --id ID                       delete the user with its identities, sessions and account
  unlock  --email E                     lift the failed-login lockout of an email
  export  [--out FILE]                  every user as JSON lines (with password hashes: keep the file secret)
  import  [--in FILE]                   users from JSON lines (export's format); existing ids are skipped

Every command takes --json for JSON output. The commands work on the data directory (or
--database) directly; a running server sees a change at once. With --server URL and an
admin key (--admin-key or $WARDEN_ADMIN_KEY), list, get, create, disable, enable, revoke,
delete and unlock go through that server's admin API instead (give --app-id, or --app).
`

// users manages an app's users.
func users(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, fs, err := subcommand("users", usersUsage, args, stderr)
	if err != nil {
		return err
	}
	common := addCommonFlags(fs)
	id := fs.String("id", "", "the user's id")
	email := fs.String("email", "", "the account's email")
	pw := fs.String("password", "", "the new user's password (create)")
	search := fs.String("search", "", "id or part of an email (list)")
	providerType := fs.String("provider", "", "provider type (list)")
	state := fs.String("state", "", "enabled or disabled (list)")
	sortBy := fs.String("sort", "created", "created or last_login (list)")
	desc := fs.Bool("desc", false, "newest first (list)")
	limit := fs.Int("limit", 50, "users per page (list)")
	offset := fs.Int("offset", 0, "users to skip (list)")
	out := fs.String("out", "", "file to export to (default: standard output)")
	in := fs.String("in", "", "file to import from (default: standard input)")
	asJSON := fs.Bool("json", false, "print JSON")
	server := fs.String("server", "", "URL of a running server, to work through its admin API")
	adminKey := fs.String("admin-key", os.Getenv("WARDEN_ADMIN_KEY"), "admin key for --server (env WARDEN_ADMIN_KEY)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *server != "" {
		return remoteUsers(ctx, sub, remoteArgs{server: *server, key: *adminKey, appID: *common.appID, appDir: *common.appDir,
			id: *id, email: *email, password: *pw, query: store.UserQuery{Search: *search, Provider: *providerType, State: *state, Sort: *sortBy, Desc: *desc, Limit: *limit, Offset: *offset},
			json: *asJSON}, stdout)
	}
	known := map[string]bool{"list": true, "get": true, "create": true, "disable": true, "enable": true, "revoke": true, "delete": true, "unlock": true, "export": true, "import": true}
	if !known[sub] {
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("users: unknown command %q", sub)
	}
	needID := map[string]bool{"get": true, "disable": true, "enable": true, "revoke": true, "delete": true}
	if needID[sub] && *id == "" {
		return fmt.Errorf("users %s: --id is required", sub)
	}
	svc, app, closeStore, err := common.open(ctx, "users")
	if err != nil {
		return err
	}
	defer closeStore()
	ctx = auth.WithActor(ctx, cliActor()) // the service audits every change with it
	appID := app.ClientAppID
	emit := func(v any, table func(*tabwriter.Writer)) error {
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(v)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
	done := func(msg string) error {
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]string{"result": msg})
		}
		_, err := fmt.Fprintln(stdout, msg)
		return err
	}

	switch sub {
	case "list":
		list, total, err := svc.ListUsers(ctx, appID, store.UserQuery{Search: *search, Provider: *providerType, State: *state, Sort: *sortBy, Desc: *desc, Limit: *limit, Offset: *offset})
		if err != nil {
			return err
		}
		views := make([]any, len(list))
		for i, u := range list {
			views[i] = adminapi.UserView(u)
		}
		return emit(map[string]any{"users": views, "total": total}, func(tw *tabwriter.Writer) {
			fmt.Fprintln(tw, "ID\tEMAIL\tPROVIDERS\tSTATE\tCREATED\tLAST LOGIN")
			for _, u := range list {
				var provs []string
				for _, i := range u.Identities {
					provs = append(provs, i.ProviderType)
				}
				st := "enabled"
				if u.Disabled {
					st = "disabled"
				}
				em, _ := u.Data["email"].(string)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, em, strings.Join(provs, ","), st, u.CreatedAt.Format(time.RFC3339), u.LastLogin.Format(time.RFC3339))
			}
			fmt.Fprintf(tw, "(%d of %d)\n", len(list), total)
		})
	case "get":
		d, err := svc.UserDetail(ctx, appID, *id)
		if err != nil {
			return err
		}
		return emit(adminapi.DetailView(d), func(tw *tabwriter.Writer) {
			fmt.Fprintf(tw, "id\t%s\nemail\t%s\ntype\t%s\ndisabled\t%v\ncreated\t%s\nlast login\t%s\n", d.ID, d.Email, d.Type, d.Disabled, d.CreatedAt.Format(time.RFC3339), d.LastLogin.Format(time.RFC3339))
			for _, i := range d.Identities {
				fmt.Fprintf(tw, "identity\t%s %s\n", i.ProviderType, i.ID)
			}
			for _, s := range d.Sessions {
				fmt.Fprintf(tw, "session\t%s %s %s, last used %s\n", s.ID, s.Device.Platform, s.Device.SDKVersion, s.LastUsedAt.Format(time.RFC3339))
			}
			custom, _ := json.Marshal(d.CustomData)
			fmt.Fprintf(tw, "custom data\t%s\n", custom)
		})
	case "create":
		if *email == "" {
			return errors.New("users create: --email is required")
		}
		password := *pw
		if password == "" {
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("users create: give --password or the password on standard input")
			}
			password = strings.TrimRight(line, "\r\n")
		}
		u, err := svc.CreateEmailPasswordUser(ctx, appID, *email, password)
		if err != nil {
			return err
		}
		return emit(adminapi.UserView(u), func(tw *tabwriter.Writer) { fmt.Fprintf(tw, "created user %s for %s\n", u.ID, *email) })
	case "disable", "enable":
		if err := svc.SetUserDisabled(ctx, appID, *id, sub == "disable"); err != nil {
			return err
		}
		return done(sub + "d " + *id)
	case "revoke":
		n, err := svc.RevokeSessions(ctx, appID, *id)
		if err != nil {
			return err
		}
		return done(fmt.Sprintf("%s: %d sessions ended", *id, n))
	case "delete":
		if err := svc.AdminDeleteUser(ctx, appID, *id); err != nil {
			return err
		}
		return done("deleted " + *id)
	case "unlock":
		if *email == "" {
			return errors.New("users unlock: --email is required")
		}
		had, err := svc.Unlock(ctx, appID, *email)
		if err != nil {
			return err
		}
		if had {
			return done("unlocked " + *email)
		}
		return done(*email + " had no failed logins")
	case "export":
		w := stdout
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			defer f.Close()
			// The export holds password hashes: an existing file loses its old mode too.
			if err := f.Chmod(0o600); err != nil {
				return err
			}
			w = f
		}
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		n := 0
		err := svc.ExportUsers(ctx, appID, func(e auth.ExportedUser) error {
			n++
			if n%1000 == 0 {
				fmt.Fprintf(stderr, "exported %d users\n", n)
			}
			return enc.Encode(e)
		})
		if err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "exported %d users\n", n)
		return nil
	case "import":
		r := io.Reader(os.Stdin)
		if *in != "" {
			f, err := os.Open(*in)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
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
			ok, err := svc.ImportUser(ctx, appID, e)
			if err != nil {
				return fmt.Errorf("import: line %d: %w", line, err)
			}
			if ok {
				created++
			} else {
				skipped++
			}
			if (created+skipped)%1000 == 0 {
				fmt.Fprintf(stderr, "imported %d users (%d already there)\n", created, skipped)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		fmt.Fprintf(stderr, "imported %d users (%d already there)\n", created, skipped)
		return done(fmt.Sprintf("imported %d users, skipped %d", created, skipped))
	}
	return nil
}

// cliActor is who acts from the command line: the OS user, for the audit log.
func cliActor() auth.Actor {
	who := os.Getenv("USER")
	if who == "" {
		who = "unknown"
	}
	return auth.Actor{Name: "cli:" + who}
}
