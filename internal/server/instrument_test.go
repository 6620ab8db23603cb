package server

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/metrics"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		method, target string
		group          metrics.Group
		git            bool
		service        metrics.GitService
		advertisement  bool
	}{
		{"GET", "/alice/x.git/info/refs?service=git-upload-pack", metrics.GroupGit, true, metrics.UploadPack, true},
		{"GET", "/alice/x/info/refs?service=git-receive-pack", metrics.GroupGit, true, metrics.ReceivePack, true},
		{"POST", "/alice/x.git/git-upload-pack", metrics.GroupGit, true, metrics.UploadPack, false},
		{"POST", "/alice/x/git-receive-pack", metrics.GroupGit, true, metrics.ReceivePack, false},
		{"GET", "/alice/x.git/info/refs", metrics.GroupGit, false, "", false}, // dumb protocol
		{"GET", "/alice/x.git/info/refs?service=git-upload-archive", metrics.GroupGit, false, "", false},
		{"GET", "/api/v3/user", metrics.GroupAPI, false, "", false},
		{"POST", "/api/graphql", metrics.GroupAPI, false, "", false},
		{"GET", "/api", metrics.GroupAPI, false, "", false},
		// The mux gives /api/… to the API whatever follows.
		{"GET", "/api/x/info/refs?service=git-upload-pack", metrics.GroupAPI, false, "", false},
		{"GET", "/healthz", metrics.GroupOther, false, "", false},
		{"GET", "/metrics", metrics.GroupOther, false, "", false},
		{"GET", "/", metrics.GroupWeb, false, "", false},
		{"GET", "/alice/x", metrics.GroupWeb, false, "", false},
		{"GET", "/alice/x/blob/main/info/refs", metrics.GroupWeb, false, "", false},
		{"GET", "/apix", metrics.GroupWeb, false, "", false},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		g, gr, ok := classify(r)
		if g != c.group || ok != c.git || gr.Service != c.service || gr.Advertisement != c.advertisement {
			t.Errorf("%s %s: %s, %+v, %v; want %s, git %v %s advertisement %v", c.method, c.target, g, gr, ok,
				c.group, c.git, c.service, c.advertisement)
		}
	}
}

// flushWriter is a ResponseWriter whose FlushError fails, as a passed
// write deadline makes it.
type flushWriter struct {
	*httptest.ResponseRecorder
	err error
}

func (w *flushWriter) FlushError() error { return w.err }

// git's smart HTTP streams: the wrapped writer must still flush, and
// report why it could not.
func TestInstrumentKeepsFlush(t *testing.T) {
	reg := metrics.NewRegistry()
	reqs, git := metrics.NewHTTP(reg), metrics.NewGit(reg)
	var flushErr error
	h := instrument(reqs, git, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the wrapped writer is not an http.Flusher")
		}
		io.WriteString(w, "0008NAK\n")
		flushErr = http.NewResponseController(w).Flush()
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/alice/x.git/git-upload-pack", strings.NewReader("0000")))
	if flushErr != nil || !rec.Flushed {
		t.Errorf("Flush: %v, flushed %v", flushErr, rec.Flushed)
	}

	stalled := errors.New("i/o timeout")
	h.ServeHTTP(&flushWriter{httptest.NewRecorder(), stalled}, httptest.NewRequest("POST", "/alice/x.git/git-upload-pack", strings.NewReader("0000")))
	if !errors.Is(flushErr, stalled) {
		t.Errorf("Flush through the wrapper: %v, want the writer's error", flushErr)
	}
}

// A panicking handler is counted as the 500 that Logging answers, and
// leaves no request in flight.
func TestInstrumentPanic(t *testing.T) {
	reg := metrics.NewRegistry()
	reqs, git := metrics.NewHTTP(reg), metrics.NewGit(reg)
	h := instrument(reqs, git, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	func() {
		defer func() { recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/alice/x.git/info/refs?service=git-upload-pack", nil))
	}()
	got := scrape(t, metrics.Handler(reg, nil))
	for series, want := range map[string]string{
		`gatehouse_http_request_duration_seconds_count{code="5xx",group="git",method="GET"}`:               "1",
		`gatehouse_http_requests_in_flight{group="git"}`:                                                   "0",
		`gatehouse_git_http_requests_total{outcome="error",request="advertisement",service="upload-pack"}`: "1",
	} {
		if got[series] != want {
			t.Errorf("%s = %q, want %s", series, got[series], want)
		}
	}
}

// 103 Early Hints is not the final status.
func TestInstrumentInformational(t *testing.T) {
	reg := metrics.NewRegistry()
	reqs, git := metrics.NewHTTP(reg), metrics.NewGit(reg)
	h := instrument(reqs, git, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusNotFound)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got := scrape(t, metrics.Handler(reg, nil))[`gatehouse_http_request_duration_seconds_count{code="4xx",group="web",method="GET"}`]; got != "1" {
		t.Errorf("4xx web requests: %q, want 1", got)
	}
}
