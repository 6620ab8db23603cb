package server

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/githttp"
	"github.com/gatehouse/gatehouse/internal/metrics"
)

// instrument records every request's duration by route group, method and
// status class, and for git's smart HTTP requests the service, the
// outcome and the bytes moved. It learns all of it from the path, the
// query of info/refs and the answer's status, so the transports know
// nothing of metrics; no label ever holds a path, a user or a repository.
func instrument(reqs *metrics.HTTP, git *metrics.Git, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		group, gr, isGit := classify(r)
		var body *countingBody
		if isGit && r.Body != nil && r.Body != http.NoBody {
			body = &countingBody{ReadCloser: r.Body}
			r = r.WithContext(r.Context()) // a copy: the caller's request keeps its body
			r.Body = body
		}
		cw := &countingWriter{ResponseWriter: w}
		reqs.Started(group)
		returned := false
		defer func() {
			status := cw.status()
			if !returned && cw.code == 0 {
				status = http.StatusInternalServerError // a panic, which Logging answers with a 500
			}
			reqs.Finished(group, r.Method, status, time.Since(start))
			if isGit {
				gr.Status, gr.Sent = status, cw.n
				if body != nil {
					gr.Received = body.n.Load()
				}
				git.Request(gr)
			}
		}()
		next.ServeHTTP(cw, r)
		returned = true
	})
}

// classify names the route group of r and, for one of git's smart HTTP
// requests, its service and kind. It follows the mux: /api/ is the API's
// even where the rest of the path looks like git's, and only what
// githttp.Match accepts is git's. An info/refs without a smart service
// (a dumb client) is git's group but no git request.
func classify(r *http.Request) (metrics.Group, metrics.GitRequest, bool) {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/metrics":
		return metrics.GroupOther, metrics.GitRequest{}, false
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		return metrics.GroupAPI, metrics.GitRequest{}, false
	}
	rt, ok := githttp.Match(p)
	if !ok {
		return metrics.GroupWeb, metrics.GitRequest{}, false
	}
	var gr metrics.GitRequest
	switch rt.Op {
	case "info/refs":
		gr.Advertisement = true
		switch r.URL.Query().Get("service") {
		case "git-upload-pack":
			gr.Service = metrics.UploadPack
		case "git-receive-pack":
			gr.Service = metrics.ReceivePack
		default:
			return metrics.GroupGit, metrics.GitRequest{}, false
		}
	case "git-upload-pack":
		gr.Service = metrics.UploadPack
	case "git-receive-pack":
		gr.Service = metrics.ReceivePack
	default:
		return metrics.GroupGit, metrics.GitRequest{}, false
	}
	return metrics.GroupGit, gr, true
}

// countingWriter keeps the status and counts the body bytes of an answer.
// Flush, full duplex, deadlines and Hijack still reach the writer below:
// git's smart HTTP streams its answer and needs them.
type countingWriter struct {
	http.ResponseWriter
	code int // the final status, once sent
	n    int64
}

func (w *countingWriter) WriteHeader(code int) {
	// 1xx answers (103 Early Hints) precede the final status, except 101.
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// ReadFrom passes a file down to net/http's own ReadFrom (sendfile on a
// plain TCP connection), counting what it sent.
func (w *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.n += n
	return n, err
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// FlushError flushes the writer below and reports its error (a passed
// write deadline, say), which http.ResponseController.Flush returns.
func (w *countingWriter) FlushError() error {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush makes the writer an http.Flusher, for handlers that assert one.
func (w *countingWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the writer's other features.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *countingWriter) status() int {
	if w.code == 0 {
		return http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	return w.code
}

// countingBody counts the bytes read from a request body. The count is
// atomic: a git process's stdin copier may still be reading when the
// handler has returned.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
