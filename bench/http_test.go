package bench

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/fairmesh/fairmesh/httpapi"
)

// discard is a ResponseWriter that keeps the status and drops the body, so
// that the handler benchmark measures the handler, not a recorder's buffers.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(status int)      { d.status = status }

// BenchmarkHTTPAllow is what a decision costs through the HTTP API, for
// services that call a `fairmesh serve` beside them instead of embedding
// the library: "handler" is the API's own work (routing, validation,
// RateLimit headers, the JSON body) on one hot client, "loopback" a whole
// round trip over 127.0.0.1 with keep-alive, client and server included.
func BenchmarkHTTPAllow(b *testing.B) {
	b.Run("handler", func(b *testing.B) {
		h := httpapi.New(newFairmesh(b), httpapi.Options{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// One request per goroutine: ServeMux writes the matched
			// pattern into the request it serves.
			req := httptest.NewRequest(http.MethodGet, "/v1/allow/"+hotID, nil)
			w := &discard{h: http.Header{}}
			for pb.Next() {
				clear(w.h)
				h.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Errorf("status %d", w.status)
					return
				}
			}
		})
	})
	b.Run("loopback", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: httpapi.New(newFairmesh(b), httpapi.Options{})}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Close() })
		url := "http://" + ln.Addr().String() + "/v1/allow/" + hotID
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.Cleanup(client.CloseIdleConnections)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	})
}
