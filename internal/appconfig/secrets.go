package appconfig

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Secrets resolves the secret names that `secret_config` fields and secret-backed values
// refer to. Values come from a flat JSON file of name → value; an environment variable
// WARDEN_SECRET_<NAME> overrides a file entry (NAME upper-cased, with every character
// other than a letter or digit turned into '_').
type Secrets struct {
	file    map[string]string
	environ func(string) (string, bool)
}

// LoadSecrets reads the secrets file (none when file is empty). lookupEnv is normally
// os.LookupEnv.
func LoadSecrets(file string, lookupEnv func(string) (string, bool)) (*Secrets, error) {
	s := &Secrets{file: map[string]string{}, environ: lookupEnv}
	if file == "" {
		return s, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &Error{File: file, Err: fmt.Errorf("must be a JSON object of secret name to string value: %w", err)}
	}
	for k, v := range raw {
		str, ok := v.(string)
		if !ok {
			return nil, &Error{File: file, Err: fmt.Errorf("secret %q: value must be a string", k)}
		}
		s.file[k] = str
	}
	return s, nil
}

// Get returns the secret called name.
func (s *Secrets) Get(name string) (string, bool) {
	if s == nil {
		return "", false
	}
	if s.environ != nil {
		if v, ok := s.environ(EnvName(name)); ok {
			return v, true
		}
	}
	v, ok := s.file[name]
	return v, ok
}

// EnvName is the environment variable that overrides the secret called name.
func EnvName(name string) string {
	var b strings.Builder
	b.WriteString("WARDEN_SECRET_")
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
