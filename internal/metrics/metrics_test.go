package metrics

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/auth"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
)

// full builds a registry with every metric of the package and records one
// of everything, so that each family (even a labelled one) has a series.
func full(t *testing.T) (*HTTP, *Git, *Tokens, http.Handler, func() []family) {
	t.Helper()
	reg := NewRegistry()
	h := NewHTTP(reg)
	g := NewGit(reg)
	tk := NewTokens(reg)
	BuildInfo(reg, "1.2.3")
	g.Processes(TransportHTTP, 64, func() int { return 3 })
	g.SSHConnections(func() int { return 2 })
	// The pack cache defines its own (gitrepo), documented on the same page.
	reg.MustRegister((&gitrepo.PackCache{}).Collectors()...)
	scrape := Handler(reg, nil)

	h.Started(GroupGit)
	h.Started(GroupAPI)
	h.Finished(GroupGit, "GET", 200, 5*time.Millisecond)
	g.Request(GitRequest{Service: UploadPack, Advertisement: true, Status: 200, Sent: 300})
	g.Request(GitRequest{Service: ReceivePack, Status: 200, Sent: 20, Received: 4000})
	g.Pushed(TransportSSH)
	g.SSHCommand(UploadPack, "ok", 5000, 120)
	g.SSHCommand(ReceivePack, "refused", 0, 0)
	tk.TokenChecked(auth.OutcomeBad)
	tk.TokenCacheLookup(true)
	tk.TokenCacheEvicted()

	gather := func() []family {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []family
		for _, mf := range mfs {
			f := family{name: mf.GetName(), typ: strings.ToLower(mf.GetType().String())}
			seen := map[string]bool{}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if !seen[l.GetName()] {
						seen[l.GetName()] = true
						f.labels = append(f.labels, l.GetName())
					}
				}
			}
			sort.Strings(f.labels)
			out = append(out, f)
		}
		return out
	}
	return h, g, tk, scrape, gather
}

type family struct {
	name, typ string
	labels    []string
}

// scrapeText fetches h's exposition in the text format and returns each
// series with its value.
func scrapeText(t *testing.T, h http.Handler) map[string]string {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	series := map[string]string{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		series[line[:i]] = line[i+1:]
	}
	return series
}

func TestScrape(t *testing.T) {
	_, _, _, scrape, _ := full(t)
	got := scrapeText(t, scrape)
	for series, want := range map[string]string{
		`gatehouse_http_request_duration_seconds_count{code="2xx",group="git",method="GET"}`:            "1",
		`gatehouse_http_requests_in_flight{group="api"}`:                                                "1",
		`gatehouse_http_requests_in_flight{group="git"}`:                                                "0",
		`gatehouse_git_http_requests_total{outcome="ok",request="advertisement",service="upload-pack"}`: "1",
		`gatehouse_git_http_requests_total{outcome="ok",request="rpc",service="receive-pack"}`:          "1",
		`gatehouse_git_http_sent_bytes_total{request="advertisement",service="upload-pack"}`:            "300",
		`gatehouse_git_http_received_bytes_total{request="rpc",service="receive-pack"}`:                 "4000",
		`gatehouse_git_pushes_total{transport="ssh"}`:                                                   "1",
		`gatehouse_git_pushes_total{transport="http"}`:                                                  "0",
		`gatehouse_git_processes{transport="http"}`:                                                     "3",
		`gatehouse_git_processes_limit{transport="http"}`:                                               "64",
		`gatehouse_ssh_connections`:                                                                     "2",
		`gatehouse_git_ssh_commands_total{outcome="ok",service="upload-pack"}`:                          "1",
		`gatehouse_git_ssh_commands_total{outcome="refused",service="receive-pack"}`:                    "1",
		`gatehouse_git_ssh_sent_bytes_total{service="upload-pack"}`:                                     "5000",
		`gatehouse_git_ssh_received_bytes_total{service="upload-pack"}`:                                 "120",
		`gatehouse_token_checks_total{outcome="bad"}`:                                                   "1",
		`gatehouse_token_checks_total{outcome="ok"}`:                                                    "0",
		`gatehouse_token_cache_lookups_total{result="hit"}`:                                             "1",
		`gatehouse_token_cache_lookups_total{result="miss"}`:                                            "0",
		`gatehouse_token_cache_evictions_total`:                                                         "1",
		`gatehouse_build_info{version="1.2.3"}`:                                                         "1",
	} {
		if got[series] != want {
			t.Errorf("%s = %q, want %s", series, got[series], want)
		}
	}
	for _, prefix := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_start_time_seconds", "promhttp_metric_handler_errors_total"} {
		if !slices.ContainsFunc(keys(got), func(s string) bool { return strings.HasPrefix(s, prefix) }) {
			t.Errorf("no %s in the scrape", prefix)
		}
	}
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// docRow is a line of docs/metrics.md's table: | `name` | type | labels | … |
var docRow = regexp.MustCompile("^\\| `([a-z_]+)` \\| ([a-z]+) \\| ([^|]*) \\|")

// Every metric the package defines is in docs/metrics.md, with its type
// and its labels, and the document names no metric that does not exist.
func TestDocumented(t *testing.T) {
	f, err := os.Open("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]family{}
	for _, line := range strings.Split(string(b), "\n") {
		m := docRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := family{name: m[1], typ: m[2]}
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" && l != "—" {
				d.labels = append(d.labels, l)
			}
		}
		sort.Strings(d.labels)
		documented[d.name] = d
	}
	if len(documented) == 0 {
		t.Fatal("no metric table found in docs/metrics.md")
	}
	_, _, _, _, gather := full(t)
	exported := map[string]bool{}
	for _, f := range gather() {
		if strings.HasPrefix(f.name, "go_") || strings.HasPrefix(f.name, "process_") {
			continue // the standard collectors, documented as a group
		}
		exported[f.name] = true
		d, ok := documented[f.name]
		switch {
		case !ok:
			t.Errorf("%s (%s, labels %v) is not in docs/metrics.md", f.name, f.typ, f.labels)
		case d.typ != f.typ:
			t.Errorf("%s: documented as a %s, is a %s", f.name, d.typ, f.typ)
		case !slices.Equal(d.labels, f.labels):
			t.Errorf("%s: documented labels %v, has %v", f.name, d.labels, f.labels)
		}
	}
	for name := range documented {
		if !exported[name] {
			t.Errorf("docs/metrics.md lists %s, which is not exported", name)
		}
	}
}

func TestClasses(t *testing.T) {
	for _, c := range []struct {
		status         int
		class, outcome string
	}{
		{200, "2xx", "ok"}, {204, "2xx", "ok"}, {304, "3xx", "ok"},
		{401, "4xx", "refused"}, {403, "4xx", "refused"}, {404, "4xx", "refused"}, {408, "4xx", "refused"},
		{503, "5xx", "refused"}, {500, "5xx", "error"}, {502, "5xx", "error"},
		{99, "other", "ok"}, {600, "other", "error"},
	} {
		if got := StatusClass(c.status); got != c.class {
			t.Errorf("StatusClass(%d) = %s, want %s", c.status, got, c.class)
		}
		if got := GitOutcome(c.status); got != c.outcome {
			t.Errorf("GitOutcome(%d) = %s, want %s", c.status, got, c.outcome)
		}
	}
	for m, want := range map[string]string{"GET": "GET", "POST": "POST", "PATCH": "PATCH", "get": "OTHER", "PROPFIND": "OTHER", "": "OTHER"} {
		if got := MethodClass(m); got != want {
			t.Errorf("MethodClass(%q) = %s, want %s", m, got, want)
		}
	}
}

// One registry per server: a second registration fails loudly rather than
// mixing two servers' counts.
func TestRegistryPerServer(t *testing.T) {
	reg := NewRegistry()
	NewHTTP(reg)
	defer func() {
		if recover() == nil {
			t.Error("registering the request metrics twice did not panic")
		}
	}()
	NewHTTP(reg)
}
