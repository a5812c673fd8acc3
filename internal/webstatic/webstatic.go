// Package webstatic serves a directory of static files (a web app's pages and scripts)
// beside the client API, so that one warden process is enough for a demo: no directory
// listings, no dotfiles, index.html for a directory, and headers that keep browsers from
// guessing content types or leaking full URLs to other sites.
package webstatic

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
)

// Handler serves the files under dir for GET and HEAD. Files are opened through an
// os.Root, so a symbolic link that leads out of dir (to the signing key, to /etc) is
// not followed out of it.
func Handler(dir string) (http.Handler, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("static directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("static directory %s: not a directory", dir)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("static directory: %w", err)
	}
	root := r.FS()
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		for _, part := range strings.Split(name, "/") {
			if strings.HasPrefix(part, ".") {
				http.NotFound(w, r)
				return
			}
		}
		if name == "" {
			name = "."
		}
		if info, err := fs.Stat(root, name); err == nil && info.IsDir() {
			if _, err := fs.Stat(root, path.Join(name, "index.html")); errors.Is(err, fs.ErrNotExist) {
				http.NotFound(w, r) // no directory listings
				return
			}
		}
		files.ServeHTTP(w, r)
	}), nil
}
