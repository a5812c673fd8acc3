package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// customDataApp writes an app whose users have custom user data in the embedded engine.
func customDataApp(dir string) error {
	files := map[string]string{
		"root_config.json":                                   `{"name":"customdata"}`,
		"auth/providers.json":                                `{"anon-user":{"name":"anon-user","type":"anon-user","disabled":false}}`,
		"auth/custom_user_data.json":                         `{"enabled":true,"mongo_service_name":"mongodb-atlas","database_name":"app","collection_name":"profiles","user_id_field":"user_id"}`,
		"data_sources/mongodb-atlas/config.json":             `{"name":"mongodb-atlas","type":"mongodb-atlas","config":{"clusterName":"Cluster0"}}`,
		"data_sources/mongodb-atlas/default_rule.json":       `{"roles":[{"name":"none","apply_when":{},"read":false,"write":false,"insert":false,"delete":false}]}`,
		"data_sources/mongodb-atlas/app/profiles/rules.json": `{"database":"app","collection":"profiles","roles":[{"name":"own","apply_when":{},"document_filters":{"read":{"user_id":"%%user.id"},"write":{"user_id":"%%user.id"}},"read":true,"write":true,"insert":true,"delete":false}]}`,
	}
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// benchCustomData measures, on its own server (the embedded data engine would change the
// other runs' memory figures), /healthz and a refresh whose token carries the user's
// custom user data.
func benchCustomData(bin, dir string, duration time.Duration) ([]result, error) {
	appDir := filepath.Join(dir, "customdata-app")
	if err := customDataApp(appDir); err != nil {
		return nil, err
	}
	// The quickstart app beside it, without custom user data: its refreshes are the plain
	// ones the custom-data refreshes are compared with, on the same server, in turns.
	srv, err := startServer(bin, filepath.Join(dir, "customdata.log"), nil, "--app", appDir, "--app", "examples/quickstart",
		"--data", filepath.Join(dir, "customdata"), "--rate-limit", "all=off")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	base := srv.base
	api := base + "/api/client/v2.0"
	app := api + "/app/customdata"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	_, body := post(client, app+"/auth/providers/anon-user/login", "", `{}`)
	var login map[string]string
	if err := json.Unmarshal(body, &login); err != nil || login["refresh_token"] == "" {
		return nil, fmt.Errorf("custom data app login: %s\n%s", body, srv.logs.tail())
	}
	doc := fmt.Sprintf(`{"name":"insertOne","service":"mongodb-atlas","arguments":[{"database":"app","collection":"profiles","document":{"user_id":%q,"color":"blue","plan":"pro"}}]}`, login["user_id"])
	if code, body := post(client, app+"/functions/call", login["access_token"], doc); code != 200 {
		return nil, fmt.Errorf("inserting the custom user data: %d %s", code, body)
	}
	// The refresh must carry the document, or the figure measures nothing.
	_, body = post(client, api+"/auth/session", login["refresh_token"], "")
	var ref map[string]string
	_ = json.Unmarshal(body, &ref)
	if !bytes.Contains(jwtPayload(ref["access_token"]), []byte(`"blue"`)) {
		return nil, fmt.Errorf("the refreshed token has no custom user data: %s", body)
	}
	_, body = post(client, api+"/app/quickstart-abcde/auth/providers/anon-user/login", "", `{}`)
	var plain map[string]string
	if err := json.Unmarshal(body, &plain); err != nil || plain["refresh_token"] == "" {
		return nil, fmt.Errorf("quickstart app login: %s", body)
	}
	scenarios := []struct {
		name string
		do   func() int
	}{
		{"GET /healthz", func() int { return get(client, base+"/healthz", "") }},
		{"POST /auth/session (refresh, no custom user data)", func() int { c, _ := post(client, api+"/auth/session", plain["refresh_token"], ""); return c }},
		{"POST /auth/session (refresh, custom user data)", func() int { c, _ := post(client, api+"/auth/session", login["refresh_token"], ""); return c }},
	}
	// Three rounds in turns, each scenario a third of the duration: a drift of the machine
	// falls on all of them.
	const rounds = 3
	runs := make([][]result, len(scenarios))
	for round := range rounds {
		for i, s := range scenarios {
			fmt.Fprintf(os.Stderr, "custom user data: %s, round %d ...\n", s.name, round+1)
			runs[i] = append(runs[i], load(s.name, 32, duration/rounds, s.do))
		}
	}
	out := make([]result, len(scenarios))
	for i, rs := range runs {
		out[i] = merged(rs)
	}
	return out, nil
}

// merged is one result of several runs of a scenario: all their requests, their mean
// rate, and the worst of their percentiles.
func merged(rs []result) result {
	m := result{name: rs[0].name, concurrency: rs[0].concurrency}
	var rates []float64
	for _, r := range rs {
		m.requests += r.requests
		m.errors += r.errors
		rates = append(rates, r.rps)
		m.p50, m.p99 = max(m.p50, r.p50), max(m.p99, r.p99)
	}
	m.rps = mean(rates)
	return m
}

// jwtPayload decodes the payload of a JWT (not verified), or nil.
func jwtPayload(tok string) []byte {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return b
}
