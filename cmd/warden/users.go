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

	"github.com/wardenauth/warden/internal/adminapi"
	"github.com/wardenauth/warden/internal/appconfig"
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
  import  [--in FILE] [--format warden|appservices] [--continue-on-error]
                                        users from JSON lines (export's format), or as App Services'
                                        Admin API listed them (ids kept); existing ids are skipped
  send-reset --migrated [--rate N] [--after EMAIL]
                                        mail a password reset to every account imported from App
                                        Services without a password (resumable with --after)

Every command takes --json for JSON output (the admin API's shapes). The commands work on
the data directory (or --database) directly; a running server sees a change at once. With
--server URL and an admin key (--admin-key or $WARDEN_ADMIN_KEY), list, get, create,
disable, enable, revoke, delete and unlock go through that server's admin API instead (give
--app-id, or --app), and print the same.
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
	format := fs.String("format", "warden", "import: warden (this server's export) or appservices (users as App Services' Admin API or CLI listed them)")
	continueOnError := fs.Bool("continue-on-error", false, "import --format appservices: import the users that can be, and report the others")
	migrated := fs.Bool("migrated", false, "send-reset: every account imported from App Services without a password")
	after := fs.String("after", "", "send-reset: resume after this email (the last one a run reported)")
	perSecond := fs.Float64("rate", 5, "send-reset: mails per second at most")
	asJSON := fs.Bool("json", false, "print JSON")
	server := fs.String("server", "", "URL of a running server, to work through its admin API")
	adminKey := fs.String("admin-key", os.Getenv("WARDEN_ADMIN_KEY"), "admin key for --server (env WARDEN_ADMIN_KEY)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	known := map[string]bool{"list": true, "get": true, "create": true, "disable": true, "enable": true, "revoke": true, "delete": true, "unlock": true, "export": true, "import": true, "send-reset": true}
	if !known[sub] {
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("users: unknown command %q", sub)
	}
	needID := map[string]bool{"get": true, "disable": true, "enable": true, "revoke": true, "delete": true}
	if needID[sub] && *id == "" {
		return fmt.Errorf("users %s: --id is required", sub)
	}
	if (sub == "unlock" || sub == "create") && *email == "" {
		return fmt.Errorf("users %s: --email is required", sub)
	}
	pr := printer{w: stdout, json: *asJSON}

	// The same commands on the data directory or through a server's admin API.
	var ops userOps
	var svc *auth.Service
	var appID string
	if *server != "" {
		if sub == "export" || sub == "import" || sub == "send-reset" {
			return fmt.Errorf("users %s: not available with --server (run it on the data directory)", sub)
		}
		if *adminKey == "" {
			return errNeedAdminKey
		}
		appID = *common.appID
		if appID == "" && *common.appDir != "" {
			cfg, err := appconfig.Load(*common.appDir, appconfig.Options{})
			if err != nil {
				return fmt.Errorf("loading app: %w", err)
			}
			appID = cfg.ClientAppID
		}
		if appID == "" {
			return errors.New("users --server: give --app-id (or --app)")
		}
		ops = remoteUsers{c: &adminapi.Client{BaseURL: *server, Key: *adminKey}, app: appID}
	} else {
		s, app, closeStore, err := common.open(ctx, "users")
		if err != nil {
			return err
		}
		defer closeStore()
		ctx = auth.WithActor(ctx, cliActor()) // the service audits every change with it
		svc, appID = s, app.ClientAppID
		ops = localUsers{svc: svc, appID: appID}
	}

	switch sub {
	case "list":
		page, err := ops.list(ctx, store.UserQuery{Search: *search, Provider: *providerType, State: *state, Sort: *sortBy, Desc: *desc, Limit: *limit, Offset: *offset})
		if err != nil {
			return err
		}
		return pr.view(page, userTable)
	case "get":
		d, err := ops.get(ctx, *id)
		if err != nil {
			return err
		}
		return pr.view(d, detailTable)
	case "create":
		password := *pw
		if password == "" {
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("users create: give --password or the password on standard input")
			}
			password = strings.TrimRight(line, "\r\n")
		}
		u, err := ops.create(ctx, *email, password)
		if err != nil {
			return err
		}
		return pr.view(u, func(tw *tabwriter.Writer, v map[string]any) {
			fmt.Fprintf(tw, "created user %v for %s\n", v["id"], *email)
		})
	case "disable", "enable":
		if err := ops.setDisabled(ctx, *id, sub == "disable"); err != nil {
			return err
		}
		return pr.done(sub + "d " + *id)
	case "revoke":
		n, err := ops.revoke(ctx, *id)
		if err != nil {
			return err
		}
		return pr.done(fmt.Sprintf("%s: %d sessions ended", *id, n))
	case "delete":
		if err := ops.delete(ctx, *id); err != nil {
			return err
		}
		return pr.done("deleted " + *id)
	case "unlock":
		had, err := ops.unlock(ctx, *email)
		if err != nil {
			return err
		}
		if had {
			return pr.done("unlocked " + *email)
		}
		return pr.done(*email + " had no failed logins")
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
		err := svc.Operators.ExportUsers(ctx, appID, func(e auth.ExportedUser) error {
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
	case "send-reset":
		if !*migrated {
			return errors.New("users send-reset: give --migrated (the accounts imported from App Services without a password)")
		}
		return sendMigratedResets(ctx, svc, appID, *after, *perSecond, *common.smtp != "", pr, stderr)
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
		switch *format {
		case "appservices":
			return importAppServices(ctx, svc, appID, r, *continueOnError, pr, stderr)
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
			ok, err := svc.Operators.ImportUser(ctx, appID, e)
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
		return pr.done(fmt.Sprintf("imported %d users, skipped %d", created, skipped))
	}
	return nil
}

// printer prints a command's answer: as JSON (--json), in the admin API's shapes, or
// as a table made from those same shapes.
type printer struct {
	w    io.Writer
	json bool
}

func (p printer) view(v map[string]any, table func(*tabwriter.Writer, map[string]any)) error {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	table(tw, v)
	return tw.Flush()
}

func (p printer) done(msg string) error {
	if p.json {
		return json.NewEncoder(p.w).Encode(map[string]string{"result": msg})
	}
	_, err := fmt.Fprintln(p.w, msg)
	return err
}

func userTable(tw *tabwriter.Writer, page map[string]any) {
	fmt.Fprintln(tw, "ID\tEMAIL\tPROVIDERS\tSTATE\tCREATED\tLAST LOGIN")
	users, _ := page["users"].([]any)
	for _, x := range users {
		u, _ := x.(map[string]any)
		var provs []string
		ids, _ := u["identities"].([]any)
		for _, i := range ids {
			if m, ok := i.(map[string]any); ok {
				provs = append(provs, fmt.Sprint(m["provider_type"]))
			}
		}
		st := "enabled"
		if u["disabled"] == true {
			st = "disabled"
		}
		data, _ := u["data"].(map[string]any)
		em, _ := data["email"].(string)
		fmt.Fprintf(tw, "%v\t%s\t%s\t%s\t%v\t%v\n", u["id"], em, strings.Join(provs, ","), st, u["created_at"], u["last_login"])
	}
	fmt.Fprintf(tw, "(%d of %v)\n", len(users), page["total"])
}

func detailTable(tw *tabwriter.Writer, d map[string]any) {
	u, _ := d["user"].(map[string]any)
	fmt.Fprintf(tw, "id\t%v\nemail\t%v\ntype\t%v\ndisabled\t%v\ncreated\t%v\nlast login\t%v\n", u["id"], d["email"], u["type"], u["disabled"], u["created_at"], u["last_login"])
	ids, _ := u["identities"].([]any)
	for _, i := range ids {
		if m, ok := i.(map[string]any); ok {
			fmt.Fprintf(tw, "identity\t%v %v\n", m["provider_type"], m["id"])
		}
	}
	sessions, _ := d["sessions"].([]any)
	for _, x := range sessions {
		if s, ok := x.(map[string]any); ok {
			dev, _ := s["device"].(map[string]any)
			fmt.Fprintf(tw, "session\t%v %v %v, last used %v\n", s["id"], dev["platform"], dev["sdk_version"], s["last_used_at"])
		}
	}
	custom, _ := json.Marshal(d["custom_data"])
	fmt.Fprintf(tw, "custom data\t%s\n", custom)
}

// cliActor is who acts from the command line: the OS user, for the audit log.
func cliActor() auth.Actor {
	who := os.Getenv("USER")
	if who == "" {
		who = "unknown"
	}
	return auth.Actor{Name: "cli:" + who}
}
