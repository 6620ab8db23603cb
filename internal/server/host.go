package server

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/api"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Without an external URL, the absolute URLs the API and the web pages
// give (url, clone_url, html_url, Link, Location) follow the name the
// client used, so that a client connecting as localhost is not sent to
// 127.0.0.1, where it holds no credentials (gh api --paginate would stop
// at page 2). The name must be one the server answers to — Options.Bases,
// listed at start by Bases — because the Host header is the client's to
// write: any other value gets the external (or listen) address, so a
// forged header never reaches a URL, a cache or a mail.
//
// Each base gets its own API and web handler, built at start: there are a
// handful, and every handler keeps its base fixed as before, so none of
// the code that builds URLs learns about requests. What the handlers hold
// that changes (the API's rate-limit budgets) is shared; everything else
// they reach lives in the one service.

// Bases returns the base URLs (scheme://host[:port]) a server listening at
// addr answers to under scheme ("http" or "https"): the listen address,
// the loopback names (localhost, 127.0.0.1, [::1]) when it listens on
// loopback or on every interface, and certNames, the names its TLS
// certificate holds (wildcards are left out: they name no one host). When
// the port is the scheme's default, each name is listed with and without
// it, as clients send either.
func Bases(scheme string, addr *net.TCPAddr, certNames []string) []string {
	var names []string
	if addr.IP != nil && !addr.IP.IsUnspecified() {
		names = append(names, addr.IP.String())
	}
	if addr.IP == nil || addr.IP.IsUnspecified() || addr.IP.IsLoopback() {
		names = append(names, "localhost", "127.0.0.1", "::1")
	}
	for _, n := range certNames {
		if n != "" && !strings.Contains(n, "*") {
			names = append(names, n)
		}
	}
	port := strconv.Itoa(addr.Port)
	defaultPort := (scheme == "http" && port == "80") || (scheme == "https" && port == "443")
	var bases []string
	seen := map[string]bool{}
	add := func(host string) {
		if b := scheme + "://" + strings.ToLower(host); !seen[b] {
			seen[b] = true
			bases = append(bases, b)
		}
	}
	for _, n := range names {
		add(net.JoinHostPort(n, port))
		if defaultPort {
			if strings.Contains(n, ":") {
				add("[" + n + "]")
			} else {
				add(n)
			}
		}
	}
	return bases
}

// CertNames returns the DNS names and IP addresses of the first
// certificate of cfg (none for a nil cfg), for Bases.
func CertNames(cfg *tls.Config) []string {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil
	}
	c := cfg.Certificates[0]
	leaf := c.Leaf
	if leaf == nil && len(c.Certificate) > 0 {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil
		}
	}
	if leaf == nil {
		return nil
	}
	names := append([]string(nil), leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// byHost serves each request with the handler built for the base its Host
// header names, and every other request with the fallback's.
type byHost struct {
	handlers map[string]http.Handler // by lower-case Host value
	fallback http.Handler
}

// perHost builds one handler for def (the external or listen address) and
// one for each of bases, and returns a handler that picks among them by
// Host; just def's when bases is empty.
func perHost(def string, bases []string, build func(base string) http.Handler) http.Handler {
	fallback := build(def)
	if len(bases) == 0 {
		return fallback
	}
	b := &byHost{handlers: make(map[string]http.Handler, len(bases)+1), fallback: fallback}
	if u, err := url.Parse(def); err == nil && u.Host != "" {
		b.handlers[strings.ToLower(u.Host)] = fallback
	}
	for _, base := range bases {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" {
			continue
		}
		key := strings.ToLower(u.Host)
		if _, ok := b.handlers[key]; !ok {
			b.handlers[key] = build(base)
		}
	}
	return b
}

func (b *byHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := b.handlers[strings.ToLower(r.Host)]; ok {
		h.ServeHTTP(w, r)
		return
	}
	b.fallback.ServeHTTP(w, r)
}

// apiPerHost is the API for Options.ExternalURL and each of bases, all
// spending from the first one's rate-limit budgets.
func apiPerHost(cfg api.Config, bases []string) http.Handler {
	var first *api.Handler
	return perHost(cfg.ExternalURL, bases, func(base string) http.Handler {
		c := cfg
		c.ExternalURL, c.ShareLimits = base, first
		h := api.New(c)
		if first == nil {
			first = h
		}
		return h
	})
}

// webPerHost is the web UI for Options.ExternalURL and each of bases.
func webPerHost(cfg web.Config, bases []string) http.Handler {
	return perHost(cfg.ExternalURL, bases, func(base string) http.Handler {
		c := cfg
		c.ExternalURL = base
		return web.New(c)
	})
}
