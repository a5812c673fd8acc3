package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/wardenauth/warden/internal/auth"
)

const adminKeysUsage = `Usage:
  warden admin-keys create --name NAME [--data DIR | --database URL] [--json]   create an admin API key (shown once)
  warden admin-keys list   [--data DIR | --database URL] [--json]               list admin API keys
  warden admin-keys delete --name NAME|ID [--data DIR | --database URL]         delete an admin API key

Admin keys open the admin API (/api/admin/v1) and the console (/console/) of every app of
the server. They work on the data directory (or database) directly; a running server sees
a change at once.
`

// adminKeys manages admin API keys.
func adminKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sub, fs, err := subcommand("admin-keys", adminKeysUsage, args, stderr)
	if err != nil {
		return err
	}
	dataDir := fs.String("data", "warden-data", "data directory")
	database := fs.String("database", os.Getenv("WARDEN_DATABASE"), "postgres:// URL, when the server uses PostgreSQL")
	name := fs.String("name", "", "the key's name (or id, for delete)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := openStore(ctx, *database, *dataDir, "FULL")
	if err != nil {
		return err
	}
	defer st.Close()
	svc, _, err := auth.New(auth.Options{Store: st})
	if err != nil {
		return err
	}
	defer svc.Close()
	switch sub {
	case "create":
		if *name == "" {
			return errors.New("admin-keys create: --name is required")
		}
		key, k, err := svc.Operators.CreateAdminKey(ctx, *name)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(map[string]any{"id": k.ID, "name": k.Name, "key": key, "created_at": k.CreatedAt})
		}
		fmt.Fprintf(stdout, "created admin key %q (id %s)\n%s\nKeep it secret: it is shown only now.\n", k.Name, k.ID, key)
		return nil
	case "list":
		keys, err := svc.Operators.ListAdminKeys(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := []map[string]any{}
			for _, k := range keys {
				out = append(out, map[string]any{"id": k.ID, "name": k.Name, "created_at": k.CreatedAt})
			}
			return json.NewEncoder(stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Name, k.CreatedAt.Format(time.RFC3339))
		}
		return tw.Flush()
	case "delete":
		if *name == "" {
			return errors.New("admin-keys delete: --name is required")
		}
		if err := svc.Operators.DeleteAdminKey(ctx, *name); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "deleted", *name)
		return nil
	}
	fmt.Fprint(stderr, adminKeysUsage)
	return fmt.Errorf("admin-keys: unknown subcommand %q", sub)
}
