package main

import (
	"bufio"
	"context"
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

// usersFlags are the flags of every users command.
type usersFlags struct {
	common                            commonFlags
	id, email, password               *string
	search, provider, state, sort     *string
	desc                              *bool
	limit, offset                     *int
	out, in, format, after            *string
	continueOnError, migrated, asJSON *bool
	perSecond                         *float64
	server, adminKey                  *string
}

// usersCommand is one users subcommand, run with what the flags chose: the operations on
// the data directory or through a server (ops), and the local service for the commands
// that only run on the data directory (svc is nil with --server).
type usersCommand struct {
	f              usersFlags
	ops            userOps
	svc            *auth.Service
	appID          string
	pr             printer
	stdout, stderr io.Writer
}

// usersCommands are the users subcommands; localOnly marks those that need the data
// directory.
var usersCommands = map[string]struct {
	run       func(*usersCommand, context.Context) error
	needs     string // the flag the command cannot run without
	localOnly bool
}{
	"list":       {run: (*usersCommand).list},
	"get":        {run: (*usersCommand).get, needs: "id"},
	"create":     {run: (*usersCommand).create, needs: "email"},
	"disable":    {run: (*usersCommand).disable, needs: "id"},
	"enable":     {run: (*usersCommand).enable, needs: "id"},
	"revoke":     {run: (*usersCommand).revoke, needs: "id"},
	"delete":     {run: (*usersCommand).delete, needs: "id"},
	"unlock":     {run: (*usersCommand).unlock, needs: "email"},
	"export":     {run: (*usersCommand).export, localOnly: true},
	"import":     {run: (*usersCommand).importUsers, localOnly: true},
	"send-reset": {run: (*usersCommand).sendReset, localOnly: true},
}

// users manages an app's users.
func users(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, fs, err := subcommand("users", usersUsage, args, stderr)
	if err != nil {
		return err
	}
	f := usersFlags{
		common:          addCommonFlags(fs),
		id:              fs.String("id", "", "the user's id"),
		email:           fs.String("email", "", "the account's email"),
		password:        fs.String("password", "", "the new user's password (create)"),
		search:          fs.String("search", "", "a user or identity id, or the start of an email (list)"),
		provider:        fs.String("provider", "", "provider type (list)"),
		state:           fs.String("state", "", "enabled or disabled (list)"),
		sort:            fs.String("sort", "created", "created or last_login (list)"),
		desc:            fs.Bool("desc", false, "newest first (list)"),
		limit:           fs.Int("limit", 50, "users per page (list)"),
		offset:          fs.Int("offset", 0, "users to skip (list)"),
		out:             fs.String("out", "", "file to export to (default: standard output)"),
		in:              fs.String("in", "", "file to import from (default: standard input)"),
		format:          fs.String("format", "warden", "import: warden (this server's export) or appservices (users as App Services' Admin API or CLI listed them)"),
		continueOnError: fs.Bool("continue-on-error", false, "import --format appservices: import the users that can be, and report the others"),
		migrated:        fs.Bool("migrated", false, "send-reset: every account imported from App Services without a password"),
		after:           fs.String("after", "", "send-reset: resume after this email (the last one a run reported)"),
		perSecond:       fs.Float64("rate", 5, "send-reset: mails per second at most"),
		asJSON:          fs.Bool("json", false, "print JSON"),
		server:          fs.String("server", "", "URL of a running server, to work through its admin API"),
		adminKey:        fs.String("admin-key", os.Getenv("WARDEN_ADMIN_KEY"), "admin key for --server (env WARDEN_ADMIN_KEY)"),
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cmd, known := usersCommands[sub]
	if !known {
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("users: unknown command %q", sub)
	}
	if (cmd.needs == "id" && *f.id == "") || (cmd.needs == "email" && *f.email == "") {
		return fmt.Errorf("users %s: --%s is required", sub, cmd.needs)
	}
	c := &usersCommand{f: f, pr: printer{w: stdout, json: *f.asJSON}, stdout: stdout, stderr: stderr}

	// The same commands on the data directory or through a server's admin API.
	if *f.server != "" {
		if cmd.localOnly {
			return fmt.Errorf("users %s: not available with --server (run it on the data directory)", sub)
		}
		if c.ops, err = remoteUserOps(f); err != nil {
			return err
		}
		return cmd.run(c, ctx)
	}
	svc, app, closeStore, err := f.common.open(ctx, "users")
	if err != nil {
		return err
	}
	defer closeStore()
	ctx = auth.WithActor(ctx, cliActor()) // the service audits every change with it
	c.svc, c.appID = svc, app.ClientAppID
	c.ops = localUsers{svc: svc, appID: c.appID}
	return cmd.run(c, ctx)
}

// remoteUserOps are the users operations through the admin API of the server --server
// names.
func remoteUserOps(f usersFlags) (userOps, error) {
	if *f.adminKey == "" {
		return nil, errNeedAdminKey
	}
	appID := *f.common.appID
	if appID == "" && *f.common.appDir != "" {
		cfg, err := appconfig.Load(*f.common.appDir, appconfig.Options{})
		if err != nil {
			return nil, fmt.Errorf("loading app: %w", err)
		}
		appID = cfg.ClientAppID
	}
	if appID == "" {
		return nil, errors.New("users --server: give --app-id (or --app)")
	}
	return remoteUsers{c: &adminapi.Client{BaseURL: *f.server, Key: *f.adminKey}, app: appID}, nil
}

func (c *usersCommand) list(ctx context.Context) error {
	f := c.f
	page, err := c.ops.list(ctx, store.UserQuery{Search: *f.search, Provider: *f.provider, State: *f.state, Sort: *f.sort, Desc: *f.desc, Limit: *f.limit, Offset: *f.offset})
	if err != nil {
		return err
	}
	return c.pr.view(page, userTable)
}

func (c *usersCommand) get(ctx context.Context) error {
	d, err := c.ops.get(ctx, *c.f.id)
	if err != nil {
		return err
	}
	return c.pr.view(d, detailTable)
}

func (c *usersCommand) create(ctx context.Context) error {
	password := *c.f.password
	if password == "" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("users create: give --password or the password on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	u, err := c.ops.create(ctx, *c.f.email, password)
	if err != nil {
		return err
	}
	return c.pr.view(u, func(tw *tabwriter.Writer, v map[string]any) {
		fmt.Fprintf(tw, "created user %v for %s\n", v["id"], *c.f.email)
	})
}

func (c *usersCommand) disable(ctx context.Context) error { return c.setDisabled(ctx, true) }
func (c *usersCommand) enable(ctx context.Context) error  { return c.setDisabled(ctx, false) }

func (c *usersCommand) setDisabled(ctx context.Context, disabled bool) error {
	if err := c.ops.setDisabled(ctx, *c.f.id, disabled); err != nil {
		return err
	}
	if disabled {
		return c.pr.done("disabled " + *c.f.id)
	}
	return c.pr.done("enabled " + *c.f.id)
}

func (c *usersCommand) revoke(ctx context.Context) error {
	n, err := c.ops.revoke(ctx, *c.f.id)
	if err != nil {
		return err
	}
	return c.pr.done(fmt.Sprintf("%s: %d sessions ended", *c.f.id, n))
}

func (c *usersCommand) delete(ctx context.Context) error {
	if err := c.ops.delete(ctx, *c.f.id); err != nil {
		return err
	}
	return c.pr.done("deleted " + *c.f.id)
}

func (c *usersCommand) unlock(ctx context.Context) error {
	had, err := c.ops.unlock(ctx, *c.f.email)
	if err != nil {
		return err
	}
	if had {
		return c.pr.done("unlocked " + *c.f.email)
	}
	return c.pr.done(*c.f.email + " had no failed logins")
}
