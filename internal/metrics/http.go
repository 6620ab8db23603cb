package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Group is the part of the HTTP surface a request went to: the label that
// splits request durations without naming a path.
type Group string

// The route groups.
const (
	GroupGit   Group = "git"   // git smart HTTP: OWNER/REPO(.git)/info/refs, git-upload-pack, git-receive-pack
	GroupAPI   Group = "api"   // /api/…: REST and GraphQL
	GroupWeb   Group = "web"   // pages, forms and assets: everything else
	GroupOther Group = "other" // /healthz and /metrics
)

// durationBuckets span a cached page (a millisecond) to a large clone or
// push (minutes).
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// HTTP records the requests the HTTP server answers, by route group.
type HTTP struct {
	duration *prometheus.HistogramVec
	inFlight *prometheus.GaugeVec
}

// NewHTTP registers the request metrics with reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	m := &HTTP{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by route group, method and status class.",
			Buckets: durationBuckets,
		}, []string{"group", "method", "code"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_http_requests_in_flight",
			Help: "Requests being answered now, by route group.",
		}, []string{"group"}),
	}
	reg.MustRegister(m.duration, m.inFlight)
	return m
}

// Started counts a request of group g as in flight. Every Started must be
// followed by one Finished for the same group.
func (m *HTTP) Started(g Group) { m.inFlight.WithLabelValues(string(g)).Inc() }

// Finished records a request of group g, sent with method, answered with
// status after d.
func (m *HTTP) Finished(g Group, method string, status int, d time.Duration) {
	m.inFlight.WithLabelValues(string(g)).Dec()
	m.duration.WithLabelValues(string(g), MethodClass(method), StatusClass(status)).Observe(d.Seconds())
}

// MethodClass is method when it is one of HTTP's standard methods, else
// "OTHER": a client's made-up method must not become a series.
func MethodClass(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "OTHER"
}

// StatusClass is "1xx" … "5xx" for an HTTP status, "other" beyond.
func StatusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}
