package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/wardenauth/warden/internal/ratelimit"
)

// TestConfigurationDocListsEveryFlag: docs/configuration.md lists every flag of every
// command, in that command's section, and no flag that does not exist.
func TestConfigurationDocListsEveryFlag(t *testing.T) {
	raw, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	section := func(cmd string) string {
		head := "\n## warden " + cmd + "\n"
		i := strings.Index(doc, head)
		if i < 0 {
			t.Fatalf("docs/configuration.md has no %q section", strings.TrimSpace(head))
		}
		rest := doc[i+len(head):]
		if j := strings.Index(rest, "\n## "); j >= 0 {
			rest = rest[:j]
		}
		return rest
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`)
	documented := regexp.MustCompile("`--([a-z0-9-]+)")
	for cmd, args := range map[string][]string{
		"serve":      {"serve", "-h"},
		"users":      {"users", "list", "-h"},
		"apikeys":    {"apikeys", "list", "-h"},
		"admin-keys": {"admin-keys", "list", "-h"},
		"check":      {"check", "-h"},
	} {
		var help bytes.Buffer
		_ = run(context.Background(), args, io.Discard, &help)
		flags := map[string]bool{}
		for _, m := range flagLine.FindAllStringSubmatch(help.String(), -1) {
			flags[m[1]] = true
		}
		if len(flags) == 0 {
			t.Fatalf("warden %s -h listed no flags:\n%s", cmd, help.String())
		}
		sec := section(cmd)
		inDoc := map[string]bool{}
		for _, m := range documented.FindAllStringSubmatch(sec, -1) {
			inDoc[m[1]] = true
		}
		for f := range flags {
			if !inDoc[f] {
				t.Errorf("warden %s --%s is not in docs/configuration.md", cmd, f)
			}
		}
		for f := range inDoc {
			if !flags[f] {
				t.Errorf("docs/configuration.md names warden %s --%s, which does not exist", cmd, f)
			}
		}
	}
	for _, name := range ratelimit.Names() {
		if !strings.Contains(section("serve"), "| `"+name+"` |") {
			t.Errorf("rate limit %s is not in docs/configuration.md", name)
		}
	}
	if !strings.Contains(section("version"), "no flags") {
		t.Error("docs/configuration.md: warden version")
	}
}
