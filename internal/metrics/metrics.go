// Package metrics defines every metric Gatehouse exports on /metrics, in
// one place, with the Prometheus Go client. docs/metrics.md lists them;
// a test holds the two together.
//
// Nothing here uses Prometheus' global registry: serve creates one
// Registry with NewRegistry and hands it to what records metrics, so that
// tests build their own. Label values come from small fixed sets (route
// groups, method and status classes, git services, outcomes), never from a
// path, a user, a repository or a token.
package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the Go runtime and process
// collectors (go_*, process_*), to which the server adds its own.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves reg's metrics in whichever exposition format the scraper
// asks for. A collector that fails costs its own series, not the scrape
// (promhttp_metric_handler_errors_total counts such failures, logged at
// warning level); at most four scrapes run at once and each gives up
// after ten seconds. It registers that counter with reg: call it once per
// registry.
func Handler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            reg,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// BuildInfo registers gatehouse_build_info, always 1, labelled with the
// running version ("unknown" when empty), so that a dashboard can tell
// which release answered.
func BuildInfo(reg prometheus.Registerer, version string) {
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "gatehouse_build_info",
		Help:        "Always 1, labelled with the version of Gatehouse running.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	g.Set(1)
	reg.MustRegister(g)
}
