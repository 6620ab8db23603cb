package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/auth"
)

// Tokens counts token checks; it is the auth.Observer that serve gives
// the service's authenticator (service.Config.Auth.Observer).
type Tokens struct {
	checks    *prometheus.CounterVec
	hits      prometheus.Counter
	misses    prometheus.Counter
	evictions prometheus.Counter
}

var _ auth.Observer = (*Tokens)(nil)

// NewTokens registers the token metrics with reg.
func NewTokens(reg prometheus.Registerer) *Tokens {
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_token_cache_lookups_total",
		Help: "Well-formed tokens looked up in the credential cache, by result (hit, or miss: read from the database).",
	}, []string{"result"})
	m := &Tokens{
		hits:   lookups.WithLabelValues("hit"),
		misses: lookups.WithLabelValues("miss"),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_token_checks_total",
			Help: "Personal access tokens presented (API, git over HTTPS), by outcome.",
		}, []string{"outcome"}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_token_cache_evictions_total",
			Help: "Tokens dropped from a full credential cache to make room.",
		}),
	}
	reg.MustRegister(m.checks, lookups, m.evictions)
	// Every outcome is listed at zero from the start, so that a rate of
	// failures exists before the first one.
	for _, o := range []auth.Outcome{auth.OutcomeOK, auth.OutcomeMalformed, auth.OutcomeBad, auth.OutcomeExpired,
		auth.OutcomeSuspended, auth.OutcomeLocked, auth.OutcomeError} {
		m.checks.WithLabelValues(string(o))
	}
	return m
}

// TokenChecked counts a token check by outcome.
func (m *Tokens) TokenChecked(o auth.Outcome) { m.checks.WithLabelValues(string(o)).Inc() }

// TokenCacheLookup counts a cache lookup as a hit or a miss.
func (m *Tokens) TokenCacheLookup(hit bool) {
	if hit {
		m.hits.Inc()
		return
	}
	m.misses.Inc()
}

// TokenCacheEvicted counts an eviction from a full cache.
func (m *Tokens) TokenCacheEvicted() { m.evictions.Inc() }
