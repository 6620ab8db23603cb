package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// GitService is the git program a request is for.
type GitService string

// The git services.
const (
	UploadPack  GitService = "upload-pack"  // clone, fetch, ls-remote
	ReceivePack GitService = "receive-pack" // push
)

// Transport is the way a git client reached the server.
type Transport string

// The transports.
const (
	TransportHTTP Transport = "http"
	TransportSSH  Transport = "ssh"
)

// GitRequest is one git smart HTTP request, as the server saw it.
type GitRequest struct {
	Service GitService
	// Advertisement is true for GET info/refs (the ref advertisement, or
	// protocol v2's capabilities), false for the POST to the service.
	Advertisement bool
	// Status is the HTTP status of the answer.
	Status int
	// Sent and Received count the bytes of the answer's body and of the
	// request's body (as sent: compressed if the client compressed it).
	Sent, Received int64
}

// Git records git's work: requests by service and outcome, bytes moved,
// pushes, and the git processes running.
type Git struct {
	requests *prometheus.CounterVec
	sent     *prometheus.CounterVec
	received *prometheus.CounterVec
	pushes   *prometheus.CounterVec
	ssh      *prometheus.CounterVec
	sshSent  *prometheus.CounterVec
	sshRecv  *prometheus.CounterVec
	reg      prometheus.Registerer
}

// NewGit registers the git metrics with reg.
func NewGit(reg prometheus.Registerer) *Git {
	labels := []string{"service", "request"}
	m := &Git{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_git_http_requests_total",
			Help: "Git smart HTTP requests, by service, request (advertisement or rpc) and outcome (ok, refused, error).",
		}, append(labels, "outcome")),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_git_http_sent_bytes_total",
			Help: "Bytes of git smart HTTP answers (advertisements, packs, push reports), by service and request.",
		}, labels),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_git_http_received_bytes_total",
			Help: "Bytes of git smart HTTP request bodies (negotiation, pushed packs), by service and request.",
		}, labels),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_git_pushes_total",
			Help: "Pushes that moved at least one ref, by transport.",
		}, []string{"transport"}),
		ssh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_git_ssh_commands_total",
			Help: "Git commands over SSH, by service and outcome (ok, refused, error).",
		}, []string{"service", "outcome"}),
		sshSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_git_ssh_sent_bytes_total",
			Help: "Bytes git sent to SSH clients (advertisements, packs, push reports), by service.",
		}, []string{"service"}),
		sshRecv: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_git_ssh_received_bytes_total",
			Help: "Bytes SSH clients sent to git (negotiation, pushed packs), by service.",
		}, []string{"service"}),
		reg: reg,
	}
	reg.MustRegister(m.requests, m.sent, m.received, m.pushes, m.ssh, m.sshSent, m.sshRecv)
	// Both transports are always listed, at zero until the first push.
	m.pushes.WithLabelValues(string(TransportHTTP))
	m.pushes.WithLabelValues(string(TransportSSH))
	return m
}

// Request records one git smart HTTP request.
func (m *Git) Request(r GitRequest) {
	req := "rpc"
	if r.Advertisement {
		req = "advertisement"
	}
	m.requests.WithLabelValues(string(r.Service), req, GitOutcome(r.Status)).Inc()
	if r.Sent > 0 {
		m.sent.WithLabelValues(string(r.Service), req).Add(float64(r.Sent))
	}
	if r.Received > 0 {
		m.received.WithLabelValues(string(r.Service), req).Add(float64(r.Received))
	}
}

// GitOutcome words the status of a git request: "ok" for an answer,
// "refused" when the server said no (credentials, permission, a missing
// repository, a malformed request, the process limits: 4xx and 503),
// "error" when it failed (other 5xx). A push the pre-receive hook refuses
// is still "ok" here: git reports it inside a 200 answer, and
// gatehouse_git_pushes_total does not count it.
func GitOutcome(status int) string {
	switch {
	case status < 400:
		return "ok"
	case status < 500, status == http.StatusServiceUnavailable:
		return "refused"
	}
	return "error"
}

// SSHCommand records one git command over SSH: its service, outcome
// ("ok", "refused", "error") and git's bytes each way.
func (m *Git) SSHCommand(service GitService, outcome string, sent, received int64) {
	m.ssh.WithLabelValues(string(service), outcome).Inc()
	if sent > 0 {
		m.sshSent.WithLabelValues(string(service)).Add(float64(sent))
	}
	if received > 0 {
		m.sshRecv.WithLabelValues(string(service)).Add(float64(received))
	}
}

// Pushed counts a push that moved refs, over transport t.
func (m *Git) Pushed(t Transport) { m.pushes.WithLabelValues(string(t)).Inc() }

// Processes reports the git processes running for transport t, read from
// running at every scrape, beside limit, the most it allows at once.
func (m *Git) Processes(t Transport, limit int, running func() int) {
	labels := prometheus.Labels{"transport": string(t)}
	max := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "gatehouse_git_processes_limit",
		Help:        "The most git processes a transport runs at once; beyond it requests wait or are refused.",
		ConstLabels: labels,
	})
	max.Set(float64(limit))
	m.reg.MustRegister(max, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "gatehouse_git_processes",
		Help:        "Git processes (upload-pack, receive-pack) running now, by transport.",
		ConstLabels: labels,
	}, func() float64 { return float64(running()) }))
}

// SSHConnections reports the SSH connections open now, read from open at
// every scrape.
func (m *Git) SSHConnections(open func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gatehouse_ssh_connections",
		Help: "SSH connections open now, handshakes included.",
	}, func() float64 { return float64(open()) }))
}
