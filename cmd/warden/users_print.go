package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/wardenauth/warden/internal/auth"
)

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
