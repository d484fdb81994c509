package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
)

// The dashboard's static files, built into the binary: no CDN, no build
// step beyond go build. The page reads the same JSON endpoints the CLI
// uses, so it needs nothing of its own on the server.
//
//go:embed ui
var uiFS embed.FS

func uiFiles() http.Handler {
	sub, err := fs.Sub(uiFS, "ui")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The page draws what the node says; nothing from elsewhere.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self'")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
