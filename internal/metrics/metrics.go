// Package metrics holds Warden's Prometheus metrics: requests by route and status,
// logins by provider and outcome, refreshes, requests refused by a rate limit, account
// lockouts and the anonymous-user cleanup. A nil *Metrics records nothing, so code that
// counts need not check whether metrics are on.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's set of metrics, on its own registry.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	logins      *prometheus.CounterVec
	refreshes   *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	lockouts    prometheus.Counter
	anonDeleted prometheus.Counter
}

// New makes the metrics, with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_http_requests_total", Help: "HTTP requests by route pattern, method and status."}, []string{"route", "method", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "warden_http_request_duration_seconds", Help: "HTTP request durations by route pattern.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9)}, []string{"route"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_logins_total", Help: "Login attempts by provider type and outcome."}, []string{"provider", "outcome"})
	m.refreshes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_refreshes_total", Help: "Access-token refreshes by outcome."}, []string{"outcome"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warden_rate_limited_total", Help: "Requests refused with 429 by the named rate limit."}, []string{"limit"})
	m.lockouts = prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_account_lockouts_total", Help: "Accounts locked after repeated failed password logins."})
	m.anonDeleted = prometheus.NewCounter(prometheus.CounterOpts{Name: "warden_anonymous_users_deleted_total", Help: "Inactive anonymous users deleted by the cleanup job."})
	m.reg.MustRegister(m.requests, m.duration, m.logins, m.refreshes, m.rateLimited, m.lockouts, m.anonDeleted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request records one HTTP request.
func (m *Metrics) Request(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, method, statusText(status)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
}

// Login records a login attempt: outcome is "success", "failure", "locked" or "error".
func (m *Metrics) Login(provider, outcome string) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(provider, outcome).Inc()
}

// Refresh records a refresh: outcome is "success" or "refused".
func (m *Metrics) Refresh(outcome string) {
	if m == nil {
		return
	}
	m.refreshes.WithLabelValues(outcome).Inc()
}

// RateLimited records a request refused by the named limit.
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}

// Lockout records an account locked after failed logins.
func (m *Metrics) Lockout() {
	if m == nil {
		return
	}
	m.lockouts.Inc()
}

// AnonymousDeleted records users deleted by the anonymous-user cleanup.
func (m *Metrics) AnonymousDeleted(n int) {
	if m == nil {
		return
	}
	m.anonDeleted.Add(float64(n))
}

func statusText(code int) string {
	if code == 0 {
		code = http.StatusOK
	}
	const digits = "0123456789"
	return string([]byte{digits[code/100%10], digits[code/10%10], digits[code%10]})
}
