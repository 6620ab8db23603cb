package api_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// hostURLs fetches path from base (with Host set to host when not empty)
// and returns every absolute URL the answer holds: the url, html_url and
// clone_url of each item, each Link target, and Location.
func hostURLs(t *testing.T, c *http.Client, base, host, path, token string) []string {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := noRedirects(c).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var urls []string
	if loc := resp.Header.Get("Location"); loc != "" {
		urls = append(urls, loc)
	}
	if link := resp.Header.Get("Link"); link != "" {
		for _, part := range strings.Split(link, ",") {
			u, _, _ := strings.Cut(strings.TrimSpace(part), ">")
			urls = append(urls, strings.TrimPrefix(u, "<"))
		}
	}
	if resp.StatusCode == http.StatusFound {
		return urls
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s (Host %q): %d", path, host, resp.StatusCode)
	}
	var items []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&items); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	for _, it := range items {
		for _, k := range []string{"url", "html_url", "clone_url"} {
			if s, ok := it[k].(string); ok {
				urls = append(urls, s)
			}
		}
	}
	return urls
}

// checkPrefix fails the test for each URL not under want.
func checkPrefix(t *testing.T, what string, urls []string, want string) {
	t.Helper()
	if len(urls) == 0 {
		t.Errorf("%s: no URLs", what)
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, want+"/") {
			t.Errorf("%s: %s, want a URL under %s", what, u, want)
		}
	}
}

// TestHostURLs: without --external-url, the URLs in answers follow the
// name the client connects with (localhost or 127.0.0.1), a forged Host
// gets the listen address, and gh api --paginate, logged in as
// localhost:PORT, follows the Link headers to the last page.
func TestHostURLs(t *testing.T) {
	s := startServer(t)
	tok := s.Token("alice", "hosts", "repo,read:org", "30d")
	c := s.Client(t)
	names := []string{"alice/r1", "alice/r2", "alice/r3"}
	for _, n := range names {
		s.Admin("repo", "create", n)
	}
	if code, _, out := call(t, c, "POST", s.URL+"/api/v3/user/repos", tok, `{"name":"withreadme","auto_init":true}`); code != 201 {
		t.Fatalf("create withreadme: %d %s", code, out)
	}
	names = append(names, "alice/withreadme")
	if !strings.Contains(s.Log(), "--external-url") {
		t.Errorf("serve did not suggest --external-url:\n%s", s.Log())
	}

	byIP := s.URL // https://127.0.0.1:PORT, the listen address
	for _, base := range []string{s.base, byIP} {
		checkPrefix(t, "user/repos via "+base, hostURLs(t, c, base, "", "/api/v3/user/repos?per_page=1&page=2", tok), base)
		checkPrefix(t, "tarball via "+base, hostURLs(t, c, base, "", "/api/v3/repos/alice/withreadme/tarball", tok), base)
		_, _, page := call(t, c, "GET", base+"/alice/r1", "", "")
		if !strings.Contains(page, base+"/alice/r1.git") {
			t.Errorf("the repository page via %s has no clone URL %s/alice/r1.git", base, base)
		}
	}
	// A Host the server does not answer to gets the listen address.
	for _, host := range []string{"evil.example", "evil.example:" + port(t, s.Host), "localhost:1"} {
		checkPrefix(t, "Host "+host, hostURLs(t, c, byIP, host, "/api/v3/user/repos?per_page=1&page=2", tok), byIP)
	}

	gh := testenv.RequireOneOf(t, "gh", "apt-get install -y gh", "gh")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := newGH(t, ctx, s, gh, tok)
	out := g.run("api", "--paginate", "/user/repos?per_page=1", "--jq", ".[].full_name")
	got := strings.Fields(out)
	slices.Sort(got)
	if !slices.Equal(got, names) {
		t.Errorf("gh api --paginate /user/repos?per_page=1: %q, want %q", got, names)
	}
}

// TestHostURLsExternal: with --external-url, that URL is in every answer,
// whatever name the client used.
func TestHostURLsExternal(t *testing.T) {
	const external = "https://git.example.com"
	s := startServer(t, "--external-url", external)
	tok := s.Token("alice", "hosts", "repo", "30d")
	c := s.Client(t)
	s.Admin("repo", "create", "alice/r1")
	s.Admin("repo", "create", "alice/r2")
	for _, base := range []string{s.base, s.URL} {
		for _, host := range []string{"", "evil.example"} {
			checkPrefix(t, "user/repos via "+base+" Host "+host, hostURLs(t, c, base, host, "/api/v3/user/repos?per_page=1", tok), external)
		}
		_, _, page := call(t, c, "GET", base+"/alice/r1", "", "")
		if !strings.Contains(page, external+"/alice/r1.git") {
			t.Errorf("the repository page via %s has no clone URL %s/alice/r1.git", base, external)
		}
	}
	if strings.Contains(s.Log(), "No --external-url") {
		t.Errorf("serve suggested --external-url although it was given")
	}
}

func port(t *testing.T, hostPort string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
