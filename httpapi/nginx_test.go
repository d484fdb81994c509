//go:build nginx

// The nginx config of deploy/nginx, run by Debian's nginx (installed by
// scripts/install-nginx.sh; this test fails, never skips, without it):
//
//	go test -tags nginx -run TestNginx ./httpapi

package httpapi_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/httpapi"
)

// freePort returns a loopback port nobody listened on a moment ago.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func hostPort(rawURL string) string {
	return strings.TrimPrefix(rawURL, "http://")
}

// nginx in front of a small application with auth_request to a fairmesh
// node: a client over its limit gets 429 from nginx (with Retry-After) and
// never reaches the application; one under it does; a request without a
// client is refused (the limiter fails closed).
func TestNginxAuthRequest(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	require.NoError(t, err, "nginx is not installed: run scripts/install-nginx.sh")

	n, err := fairmesh.NewNode(fairmesh.Config{NodeID: "n1"})
	require.NoError(t, err)
	require.NoError(t, n.UpdateClientRateLimit("over", 1, time.Hour))
	require.NoError(t, n.UpdateClientRateLimit("under", 100, time.Hour))
	limiter := httptest.NewServer(httpapi.New(n, httpapi.Options{}))
	defer limiter.Close()
	var reached atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		fmt.Fprintln(w, "from the application")
	}))
	defer app.Close()

	dir := t.TempDir()
	snippet, err := filepath.Abs("../deploy/nginx/fairmesh.conf")
	require.NoError(t, err)
	port := freePort(t)
	conf := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    upstream fairmesh { server %[2]s; keepalive 4; }
    upstream app { server %[3]s; }
    server {
        listen 127.0.0.1:%[4]d;
        include %[5]s;
    }
}
`, dir, hostPort(limiter.URL), hostPort(app.URL), port, snippet)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600))
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				t.Logf("nginx error.log:\n%s", b)
			}
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		require.True(t, time.Now().Before(deadline), "nginx did not listen within 10 s: %v", err)
		time.Sleep(20 * time.Millisecond)
	}

	get := func(key string) *http.Response {
		req, err := http.NewRequest(http.MethodGet, base+"/orders", nil)
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("X-Api-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	r := get("over")
	assert.Equal(t, http.StatusOK, r.StatusCode, "the first request is within the limit")
	assert.Equal(t, "1", r.Header.Get("RateLimit-Limit"))
	assert.Equal(t, "0", r.Header.Get("RateLimit-Remaining"))
	r = get("over")
	assert.Equal(t, http.StatusTooManyRequests, r.StatusCode, "over the limit: nginx answers 429")
	assert.NotEmpty(t, r.Header.Get("Retry-After"))
	assert.Equal(t, "1", r.Header.Get("RateLimit-Limit"))
	for range 3 {
		r = get("under")
		assert.Equal(t, http.StatusOK, r.StatusCode, "under its limit")
	}
	assert.Equal(t, "97", r.Header.Get("RateLimit-Remaining"))
	r = get("")
	assert.Equal(t, http.StatusTooManyRequests, r.StatusCode, "no client: refused")
	assert.EqualValues(t, 4, reached.Load(), "the application saw the admitted requests only")
}
