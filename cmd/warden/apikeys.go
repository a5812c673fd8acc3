package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/wardenauth/warden/internal/appconfig"
	"github.com/wardenauth/warden/internal/auth"
	"github.com/wardenauth/warden/internal/function"
	"github.com/wardenauth/warden/internal/mail"
	"github.com/wardenauth/warden/internal/password"
)

const apikeysUsage = `Usage:
  warden apikeys create --app DIR --name NAME [--data DIR] [--json]   create a server API key (the key is shown once)
  warden apikeys list   --app DIR [--data DIR] [--json]               list server API keys
  warden apikeys delete --app DIR --id ID [--data DIR]                delete a server API key and its server user

The command works directly on the data directory; a running server sees the change at once.
`

// apikeys manages server API keys on the data directory.
func apikeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, fs, err := subcommand("apikeys", apikeysUsage, args, stderr)
	if err != nil {
		return err
	}
	common := addCommonFlags(fs)
	name := fs.String("name", "", "key name (create)")
	id := fs.String("id", "", "key id (delete)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	svc, app, closeStore, err := common.open(ctx, "apikeys")
	if err != nil {
		return err
	}
	defer closeStore()
	print := func(keys ...auth.APIKey) error {
		if *asJSON {
			type out struct {
				ID       string `json:"_id"`
				Key      string `json:"key,omitempty"`
				Name     string `json:"name"`
				Disabled bool   `json:"disabled"`
			}
			list := make([]out, len(keys))
			for i, k := range keys {
				list[i] = out{k.ID, k.Key, k.Name, k.Disabled}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if sub == "create" {
				return enc.Encode(list[0])
			}
			return enc.Encode(list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tDISABLED\tKEY")
		for _, k := range keys {
			key := k.Key
			if key == "" {
				key = "(shown once, at creation)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", k.ID, k.Name, k.Disabled, key)
		}
		return tw.Flush()
	}
	switch sub {
	case "create":
		k, err := svc.APIKeys.CreateServerAPIKey(ctx, app.ClientAppID, *name)
		if err != nil {
			return err
		}
		return print(k)
	case "list":
		keys, err := svc.APIKeys.ListServerAPIKeys(ctx, app.ClientAppID)
		if err != nil {
			return err
		}
		return print(keys...)
	case "delete":
		if *id == "" {
			return errors.New("apikeys delete: --id is required")
		}
		if err := svc.APIKeys.DeleteServerAPIKey(ctx, app.ClientAppID, *id); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "deleted", *id)
		return nil
	}
	fmt.Fprint(stderr, apikeysUsage)
	return fmt.Errorf("apikeys: unknown subcommand %q", sub)
}

// commonFlags are the flags every command that works on the data needs.
type commonFlags struct {
	appDir, appID, dataDir, database, secrets, smtp *string
}

func addCommonFlags(fs *flag.FlagSet) commonFlags {
	return commonFlags{
		appDir:   fs.String("app", "", "the app's directory"),
		appID:    fs.String("app-id", "", "set or override the client app id"),
		dataDir:  fs.String("data", "warden-data", "data directory"),
		database: fs.String("database", os.Getenv("WARDEN_DATABASE"), "postgres:// URL, when the server uses PostgreSQL"),
		secrets:  fs.String("secrets", "", "secrets file, as for serve"),
		smtp:     fs.String("smtp", os.Getenv("WARDEN_SMTP"), "SMTP server for the mail a command sends (send-reset), as for serve (env WARDEN_SMTP)"),
	}
}

// open loads the app and opens the store and the auth core on it.
func (c commonFlags) open(ctx context.Context, cmd string) (*auth.Service, *appconfig.App, func(), error) {
	if *c.appDir == "" {
		return nil, nil, nil, fmt.Errorf("%s: --app DIR is required", cmd)
	}
	app, err := appconfig.Load(*c.appDir, appconfig.Options{AppID: *c.appID})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("loading app: %w", err)
	}
	secrets, err := appconfig.LoadSecrets(*c.secrets, os.LookupEnv)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStore(ctx, *c.database, *c.dataDir, "FULL")
	if err != nil {
		return nil, nil, nil, err
	}
	engines, err := functionEngines([]*appconfig.App{app}, function.Options{Secrets: secrets}, nil)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	hasher, err := password.NewHasher(password.DefaultParams, 0)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	var sender mail.Sender = mail.Disabled{}
	if *c.smtp != "" {
		if sender, err = mail.NewSMTP(*c.smtp); err != nil {
			st.Close()
			return nil, nil, nil, err
		}
	}
	svc, _, err := auth.New(auth.Options{Store: st, Apps: []*appconfig.App{app}, Secrets: secrets, Functions: engines, Hasher: hasher, Mail: sender})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return svc, app, func() { svc.Close(); st.Close() }, nil
}
